"""A full state disk during a release: the new release serves, the agent says so in one
line and exits 0, and status (and the next release) reconcile from the proxy and Docker."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.host.site import Site

pytestmark = [pytest.mark.docker, pytest.mark.aws, pytest.mark.slow]


@pytest.fixture
def full_state_dir(tmp_path: Path):
    state = tmp_path / "state"
    state.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(state)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def _fill(directory: Path) -> None:
    try:
        with (directory / "filler").open("wb", buffering=0) as handle:
            while True:
                handle.write(b"x" * 4096)
    except OSError as exc:
        assert exc.errno == 28  # ENOSPC: full, as wanted


def test_release_on_a_full_state_disk(site: Site, full_state_dir: Path) -> None:
    config = replace(site.config, state_dir=str(full_state_dir))
    assert site.agent("start", config=config).returncode == 0  # good-1, state written
    before = json.loads((full_state_dir / "release.json").read_text())
    assert before["current"]["tag"] == "good-1"
    _fill(full_state_dir)

    result = site.agent("release", "--tag", "good-2", config=config)
    assert result.returncode == 0, result.stderr  # good-2 serves: that is the outcome
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "could not be written" in x]
    assert "good-2 is live" in line and "No space left on device" in line
    assert site.get() == (200, "good-2")
    stale = json.loads((full_state_dir / "release.json").read_text())
    assert stale["current"]["tag"] == "good-1"  # the disk kept the old record

    status = site.agent("status", "--json", config=config)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["current"]["tag"] == "good-2" and report["current"]["healthy"] is True
    assert report["current"]["digest"].startswith("sha256:")
    assert report["previous"]["tag"] == "good-1"

    (full_state_dir / "filler").unlink()  # space again: the next release writes the truth
    assert site.agent("release", "--tag", "good-1", config=config).returncode == 0
    fixed = json.loads((full_state_dir / "release.json").read_text())
    assert fixed["current"]["tag"] == "good-1" and fixed["previous"]["tag"] == "good-2"


@pytest.mark.parametrize("missing", ["no image yet", "no key yet"])
def test_first_boot_before_push_or_secret_waits_quietly(
    site: Site, tmp_path: Path, missing: str
) -> None:
    # a new instance: no state, no Caddyfile pointing anywhere yet, no containers
    changes = {
        "state_dir": str(tmp_path / "fresh-state"),
        "caddyfile": str(tmp_path / "Caddyfile"),
        "container_name": site.config.container_name + "-new",
    }
    if missing == "no image yet":
        changes["image_tag"] = "never-pushed"
    else:
        changes["ssm_parameter"] = "/rs-host/not-set-yet"
    result = site.agent("start", config=replace(site.config, **changes))
    assert result.returncode == 0, result.stderr  # no failed unit, no 5 restarts
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert "waiting: " in line and "the first `ragstream deploy release` starts the app" in line
    assert "error" not in result.stderr
