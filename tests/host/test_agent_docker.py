"""start / release / rollback / failures, on a real engine, registry and Caddy, with moto.

The tests run in file order against one module-wide site (like one instance's life):
start on an empty host, start again, release, a failed release, rollback, failures.
"""

from __future__ import annotations

import json
import stat
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ragstream.host import proxy
from ragstream.host.config import HostConfig
from tests.host.site import Site, caddy_binary, caddy_version

pytestmark = [pytest.mark.docker, pytest.mark.aws, pytest.mark.slow]


def _containers(site: Site) -> list[str]:
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            f"name=^/{site.config.container_name}-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(out.split())


def _inspect(name: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout)[0])


def _status(site: Site) -> dict[str, Any]:
    result = site.agent("status", "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _serving(site: Site) -> tuple[str, str]:
    """(container name, container id) the proxy sends traffic to, checked end to end."""
    names = _containers(site)
    assert len(names) == 1, names
    return names[0], _inspect(names[0])["Id"]


def _fs_type(path: Path) -> str:
    best, kind = "", ""
    for line in Path("/proc/mounts").read_text().splitlines():
        mount_point, fs = line.split()[1], line.split()[2]
        if str(path).startswith(mount_point.rstrip("/") + "/") and len(mount_point) > len(best):
            best, kind = mount_point, fs
    return kind


def test_start_on_an_empty_host(site: Site) -> None:
    assert _containers(site) == []
    result = site.agent("start")
    assert result.returncode == 0, result.stderr
    assert site.get() == (200, "good-1")
    assert site.get("/_stcore/health") == (200, "ok")  # the app read its key file

    key_file = Path(site.config.secrets_dir) / "openai_api_key"
    info = key_file.stat()
    assert stat.S_IMODE(info.st_mode) == 0o400 and info.st_uid == site.config.container_uid
    assert _fs_type(key_file) == "tmpfs"
    assert key_file.read_text() == site.key

    name, _ = _serving(site)
    inspect = json.dumps(_inspect(name))
    assert site.key not in inspect
    assert site.key not in result.stdout + result.stderr
    details = _inspect(name)
    assert "OPENAI_API_KEY_FILE=/run/secrets/openai_api_key" in details["Config"]["Env"]
    assert details["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    bindings = [b for ports in details["HostConfig"]["PortBindings"].values() for b in ports]
    assert bindings and all(b["HostIp"] == "127.0.0.1" for b in bindings)
    # The 12-hour registry token is not left behind in the agent's docker config.
    docker_config = Path(site.env["DOCKER_CONFIG"]) / "config.json"
    assert site.config.registry not in json.loads(docker_config.read_text()).get("auths", {})
    mounts = {m["Destination"]: m for m in details["Mounts"]}
    assert mounts["/run/secrets/openai_api_key"]["RW"] is False
    assert mounts["/data"]["Source"] == site.config.data_dir


def test_start_again_replaces_cleanly(site: Site) -> None:
    before, _ = _serving(site)
    result = site.agent("start")
    assert result.returncode == 0, result.stderr
    after, _ = _serving(site)
    assert after != before  # the other slot: the old one is gone, not left behind
    assert site.get() == (200, "good-1")
    status = _status(site)
    assert status["current"]["tag"] == "good-1" and status["current"]["healthy"] is True
    assert status["previous"] is None  # a restart is not a release


def test_release_drops_no_request(site: Site) -> None:
    outcomes: Counter[str] = Counter()
    stop = threading.Event()

    def load() -> None:
        for _ in range(20000):  # bounded, whatever happens
            if stop.is_set():
                return
            try:
                code, body = site.get()
                outcomes[body if code == 200 else f"HTTP {code}"] += 1
            except OSError as exc:
                outcomes[f"error {type(exc).__name__}"] += 1

    caddy_log = Path(site.config.caddyfile).with_name("caddy.log")
    loads = caddy_log.read_text().count('"load complete"')
    worker = threading.Thread(target=load)
    worker.start()
    try:
        result = site.agent("release", "--tag", "good-2")
    finally:
        stop.set()
        worker.join(60)
    assert result.returncode == 0, result.stderr
    if proxy.reads_upstream_file(caddy_version(caddy_binary() or "caddy")):
        # Switched by the port file: no reload, whose listener swap can reset a request.
        assert caddy_log.read_text().count('"load complete"') == loads
    failed = {k: v for k, v in outcomes.items() if k not in ("good-1", "good-2")}
    assert failed == {}, f"failed requests during the switch: {failed}"
    assert outcomes["good-1"] > 0 and outcomes["good-2"] > 0, outcomes
    assert site.get() == (200, "good-2")
    assert len(_containers(site)) == 1
    status = _status(site)
    assert status["current"]["tag"] == "good-2" and status["previous"]["tag"] == "good-1"
    assert status["current"]["digest"].startswith("sha256:")


def test_release_of_an_unhealthy_image_keeps_the_old_one(site: Site) -> None:
    serving = _serving(site)
    result = site.agent("release", "--tag", "bad")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("ragstream-host: error: ") and "not healthy" in error
    assert _serving(site) == serving  # the bad container was removed, the old one untouched
    assert site.get() == (200, "good-2")
    status = _status(site)
    assert status["last"]["ok"] is False and status["last"]["tag"] == "bad"
    assert status["current"]["tag"] == "good-2"


def test_rollback_returns_to_the_previous_release(site: Site) -> None:
    result = site.agent("rollback")
    assert result.returncode == 0, result.stderr
    assert site.get() == (200, "good-1")
    status = _status(site)
    assert status["current"]["tag"] == "good-1" and status["previous"]["tag"] == "good-2"
    assert status["last"] == {**status["last"], "action": "rollback", "ok": True}


def _broken(site: Site, aws: Any, case: str) -> tuple[tuple[str, ...], HostConfig | None, str]:
    """(agent args, settings to use, expected words in the error) for one failure case."""
    if case == "ssm parameter missing":
        aws.client("ssm").delete_parameter(Name=site.config.ssm_parameter)
        return ("start",), None, "not found"
    if case == "registry down":
        dead = "127.0.0.1:9/rs-host/app"  # nothing listens on the discard port
        return ("release", "--tag", "good-2"), _with(site, image_repository=dead), "docker login"
    if case == "missing tag":
        return ("release", "--tag", "no-such-tag"), None, "docker pull"
    assert case == "imds down"
    config = _with(site, domain="rag.example.com", hosted_zone_id="Z1", retry_attempts=2)
    site.env["RAGSTREAM_IMDS_ENDPOINT"] = "http://127.0.0.1:9"
    return ("dns",), config, "unreachable"


def _with(site: Site, **changes: Any) -> HostConfig:
    return HostConfig(**{**site.config.__dict__, **changes})


@pytest.mark.parametrize(
    "case", ["ssm parameter missing", "registry down", "missing tag", "imds down"]
)
def test_failures_leave_the_serving_container_untouched(site: Site, aws: Any, case: str) -> None:
    name, container_id = _serving(site)
    started = _inspect(name)["State"]["StartedAt"]
    key_before = (Path(site.config.secrets_dir) / "openai_api_key").stat().st_ino
    args, config, words = _broken(site, aws, case)
    result = site.agent(*args, config=config)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("ragstream-host: error: ") and words in lines[-1], lines
    assert _serving(site) == (name, container_id)
    assert _inspect(name)["State"]["StartedAt"] == started
    assert site.get() == (200, "good-1")
    if case == "ssm parameter missing":  # the key file was not replaced either
        assert (Path(site.config.secrets_dir) / "openai_api_key").stat().st_ino == key_before
