"""The data volume: find the second EBS disk, format it once, mount it on data_dir.

On Nitro instances EBS volumes show up as /dev/nvme<N>n1 in no fixed order, so the
disk is chosen by what it is (an EBS disk that is not the root disk and carries no
partitions or mounts), never by name. A disk that already has a file system is never
formatted again.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError

LABEL = "ragstream-data"
LSBLK = ["lsblk", "--json", "--output", "NAME,PATH,TYPE,MODEL,FSTYPE,LABEL,UUID,MOUNTPOINT"]


def _mounted(device: dict[str, Any]) -> bool:
    if device.get("mountpoint"):
        return True
    return any(_mounted(child) for child in device.get("children") or [])


def pick_data_disk(lsblk: dict[str, Any]) -> dict[str, Any] | None:
    """The data disk in `lsblk --json` output, or None when the instance has none."""
    candidates = []
    for device in lsblk.get("blockdevices", []):
        if device.get("type") != "disk" or device.get("children"):
            continue
        model = (device.get("model") or "").strip()
        is_ebs = "Elastic Block Store" in model or (device.get("name") or "").startswith("xvd")
        if not is_ebs:  # instance-store NVMe disks are wiped on stop: never hold data there
            continue
        if device.get("label") == LABEL:
            return device  # ours from an earlier boot, mounted or not
        if not _mounted(device):
            candidates.append(device)
    return candidates[0] if len(candidates) == 1 else None


def _run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise HostError(f"{argv[0]} failed: {reason}")
    return result.stdout


def mount_data(config: HostConfig) -> str:
    """Make data_dir the data volume if there is one; return what was done."""
    disk = pick_data_disk(json.loads(_run(*LSBLK)))
    os.makedirs(config.data_dir, exist_ok=True)
    if disk is None:
        return f"no data volume found: data stays on the root disk in {config.data_dir}"
    prepare_volume(disk["path"], disk.get("fstype") or "", config.data_dir, config.container_uid)
    return f"{disk['path']} mounted on {config.data_dir}"


def prepare_volume(
    device: str, fstype: str, data_dir: str, uid: int, fstab: Path = Path("/etc/fstab")
) -> None:
    """Format `device` if it has no file system, add it to fstab (by UUID), mount it.

    Idempotent: every boot may run it; an existing file system is never touched.
    """
    if not fstype:
        _run("mkfs.ext4", "-q", "-L", LABEL, device)
        fstype = "ext4"
    uuid = _run("blkid", "-s", "UUID", "-o", "value", device).strip()
    if f"UUID={uuid} " not in (fstab.read_text() if fstab.exists() else ""):
        with fstab.open("a") as handle:
            # nofail: a missing volume must not stop the boot (the app then says so).
            handle.write(f"UUID={uuid} {data_dir} {fstype} defaults,nofail 0 2\n")
    os.makedirs(data_dir, exist_ok=True)
    if not os.path.ismount(data_dir):
        _run("mount", "--fstab", str(fstab), data_dir)
    os.chown(data_dir, uid, -1)
