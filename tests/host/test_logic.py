"""Pure logic of the agent: data disk choice, Caddyfile upstream, state, minified build."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragstream.host import disk, package, proxy
from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.state import Release, State

EBS = "Amazon Elastic Block Store"
ROOT_DISK = {
    "name": "nvme0n1",
    "path": "/dev/nvme0n1",
    "type": "disk",
    "model": EBS,
    "children": [{"name": "nvme0n1p1", "type": "part", "mountpoint": "/"}],
}


def _disk(name: str, model: str = EBS, **extra: object) -> dict:
    return {"name": name, "path": f"/dev/{name}", "type": "disk", "model": model, **extra}


def test_data_disk_is_the_blank_ebs_disk_whatever_its_number() -> None:
    # Nitro numbers NVMe devices in no fixed order: the data disk may come first.
    found = disk.pick_data_disk({"blockdevices": [_disk("nvme0n1"), {**ROOT_DISK, "name": "x"}]})
    assert found is not None and found["path"] == "/dev/nvme0n1"


def test_no_data_disk_without_a_second_ebs_volume() -> None:
    assert disk.pick_data_disk({"blockdevices": [ROOT_DISK]}) is None
    instance_store = _disk("nvme1n1", model="Amazon EC2 NVMe Instance Storage")
    assert disk.pick_data_disk({"blockdevices": [ROOT_DISK, instance_store]}) is None


def test_our_labelled_disk_wins_and_ambiguity_is_refused() -> None:
    ours = _disk("nvme2n1", label=disk.LABEL, fstype="ext4", mountpoint="/var/lib/ragstream/data")
    devices = [ROOT_DISK, _disk("nvme1n1"), ours]
    assert disk.pick_data_disk({"blockdevices": devices}) == ours
    # Two blank EBS disks and none ours: guessing could format the wrong one.
    assert disk.pick_data_disk({"blockdevices": [_disk("nvme1n1"), _disk("nvme2n1")]}) is None


def test_xen_style_names_count_as_ebs() -> None:
    found = disk.pick_data_disk({"blockdevices": [_disk("xvdf", model="")]})
    assert found is not None and found["name"] == "xvdf"


def test_current_upstream_reads_back_what_switch_writes(tmp_path: Path) -> None:
    config = HostConfig(
        region="r", stack="s", image_repository="h/r", caddyfile=str(tmp_path / "Caddyfile")
    )
    assert proxy.current_upstream(config) is None
    (tmp_path / "Caddyfile").write_text(proxy.render_caddyfile(config, 8502, (2, 6, 2)))
    assert proxy.current_upstream(config) == 8502


def test_state_round_trips_and_rejects_garbage(tmp_path: Path) -> None:
    state = State(
        current=Release("v2", "sha256:b", "green", "t2"),
        previous=Release("v1", "sha256:a", "blue", "t1"),
        last={"action": "release", "ok": True},
    )
    state.save(str(tmp_path))
    assert State.load(str(tmp_path)) == state
    assert State.load(str(tmp_path / "nothing-yet")) == State()
    (tmp_path / "release.json").write_text("{not json")
    with pytest.raises(HostError, match=r"release\.json is unreadable"):
        State.load(str(tmp_path))


def test_minify_keeps_the_code_and_drops_docstrings_and_comments() -> None:
    source = '"""Module."""\n# note\ndef f(x: int) -> int:\n    """Doc."""\n    return x + 1\n'
    small = package.minify(source)
    assert "Module" not in small and "Doc" not in small and "note" not in small
    namespace: dict = {}
    exec(compile(small, "m", "exec"), namespace)
    assert namespace["f"](1) == 2
    assert ast.dump(ast.parse(package.minify("def g():\n    'only a docstring'\n"))) == ast.dump(
        ast.parse("def g():\n    pass\n")
    )


def test_zipapp_build_is_reproducible() -> None:
    assert package.build_zipapp() == package.build_zipapp()


def test_cli_errors_are_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from ragstream.host.agent import main

    assert main(["--config", str(tmp_path / "missing.json"), "status"]) == 1
    assert capsys.readouterr().err == (
        f"ragstream-host: error: {tmp_path / 'missing.json'} not found: "
        "cloud-init writes it; pass --config\n"
    )
    settings = tmp_path / "host.json"
    settings.write_text('{"region": "r", "stack": "s", "image_repository": "h/r", "colour": 1}')
    assert main(["--config", str(settings), "status"]) == 1
    assert "unknown host settings: colour" in capsys.readouterr().err
    config = HostConfig(region="r", stack="s", image_repository="h/r", state_dir=str(tmp_path))
    settings.write_text(config.to_json())
    assert main(["--config", str(settings), "rollback"]) == 1
    assert capsys.readouterr().err.endswith(
        "no previous release recorded: nothing to roll back to\n"
    )
    assert main(["--config", str(settings), "status"]) == 0
    assert capsys.readouterr().out == "nothing released yet\n"


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A real block device (a loop device over a sparse file), detached afterwards."""
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("needs root and losetup")
    image = tmp_path / "volume.img"
    with image.open("wb") as handle:
        handle.truncate(32 * 1024 * 1024)
    result = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"no loop devices here ({result.stderr.strip()})")
    device = result.stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], capture_output=True)


def test_prepare_volume_formats_once_mounts_and_survives_a_rerun(
    loop_device: str, tmp_path: Path
) -> None:
    data_dir, fstab = tmp_path / "data", tmp_path / "fstab"
    fstab.write_text("# the instance's own entries\n")
    try:
        disk.prepare_volume(loop_device, "", str(data_dir), 10001, fstab)
        assert os.path.ismount(data_dir) and data_dir.stat().st_uid == 10001
        label = subprocess.run(
            ["blkid", "-s", "LABEL", "-o", "value", loop_device], capture_output=True, text=True
        )
        assert label.stdout.strip() == disk.LABEL
        (data_dir / "index.db").write_text("precious")
        entries = fstab.read_text().splitlines()
        assert entries[0] == "# the instance's own entries"
        assert entries[1].startswith("UUID=") and entries[1].endswith(
            f" {data_dir} ext4 defaults,nofail 0 2"
        )
        # The next boot: already formatted (fstype known), already mounted or not.
        subprocess.run(["umount", str(data_dir)], check=True)
        disk.prepare_volume(loop_device, "ext4", str(data_dir), 10001, fstab)
        assert (data_dir / "index.db").read_text() == "precious"
        assert fstab.read_text().splitlines() == entries
    finally:
        subprocess.run(["umount", str(data_dir)], capture_output=True)
