"""Blue/green on one host: start, release, rollback.

Every deployment runs the same steps. Everything that can fail for outside reasons
(SSM, ECR token, pull) happens before any container is touched; the new container runs
beside the serving one on the other loopback port; only once it answers its health
check does the proxy switch to it and the old one stop (once the WebSockets it still
serves have closed: drain.py). So on any failure the container that was serving keeps
serving.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from ragstream.host import docker, drain, proxy
from ragstream.host.aws import Aws
from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.files import exclusive, write_atomic
from ragstream.host.state import Release, State

SLOTS = ("blue", "green")


STARTED = time.monotonic()


def log(message: str) -> None:
    """One line on stderr (journald adds the time); seconds since the command began."""
    print(
        f"ragstream-host: [{time.monotonic() - STARTED:.1f}s] {message}",
        file=sys.stderr,
        flush=True,
    )


def slot_port(config: HostConfig, slot: str) -> int:
    return config.blue_port if slot == "blue" else config.green_port


def container(config: HostConfig, slot: str) -> str:
    return f"{config.container_name}-{slot}"


def serving_slot(config: HostConfig) -> str | None:
    """The slot the proxy points at, if its container exists (the proxy is the truth)."""
    port = proxy.current_upstream(config)
    for slot in SLOTS:
        if slot_port(config, slot) == port and docker.exists(container(config, slot)):
            return slot
    return None


def is_healthy(config: HostConfig, port: int, timeout: float = 2.0) -> bool:
    url = f"http://127.0.0.1:{port}{config.health_path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_healthy(config: HostConfig, slot: str) -> None:
    name, port = container(config, slot), slot_port(config, slot)
    deadline = time.monotonic() + config.health_timeout
    while time.monotonic() < deadline:
        if is_healthy(config, port):
            return
        status = docker.state(name).get("State", {})
        if status.get("Status") in ("exited", "dead") or status.get("Restarting"):
            raise HostError(f"{name} stopped before it was healthy (exit {status.get('ExitCode')})")
        time.sleep(0.25)
    raise HostError(f"{name} not healthy at {config.health_path} after {config.health_timeout:g} s")


def fetch_secrets(config: HostConfig, aws: Aws) -> dict[str, tuple[str, str]]:
    """{env var: (file name, value)} of the SSM secrets the container gets (never logged)."""
    wanted = [
        ("OPENAI_API_KEY_FILE", config.ssm_parameter, "openai_api_key"),
        ("RAGSTREAM_DATABASE_URL_FILE", config.database_url_parameter, "database_url"),
    ]
    return {env: (file, aws.secret(name)) for env, name, file in wanted if name}


def write_secrets(
    config: HostConfig, secrets: dict[str, tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """Write each secret to a file on tmpfs, 0400 and owned by the container's user.

    A serving container keeps the file it was started with: a bind mount pins the inode,
    and the atomic rename puts a new inode in place.
    """
    os.makedirs(config.secrets_dir, mode=0o711, exist_ok=True)
    mounts = []
    for env, (file, value) in secrets.items():
        path = Path(config.secrets_dir) / file
        write_atomic(path, value.encode(), mode=0o400, uid=config.container_uid)
        mounts.append((env, str(path)))
    return tuple(mounts)


def reconcile(config: HostConfig, state: State) -> State:
    """The proxy is the truth: when release.json (say, never written on a full disk) names
    another release than the one the proxy serves, take the serving one from Docker."""
    slot = serving_slot(config)
    if slot is None:
        return state
    info = docker.state(container(config, slot))
    labels = info.get("Config", {}).get("Labels") or {}
    tag = labels.get("ragstream.tag", "unknown")
    if state.current and (state.current.slot, state.current.tag) == (slot, tag):
        return state
    serving = Release(tag, labels.get("ragstream.digest", ""), slot, info["State"]["StartedAt"])
    if state.current:
        state.previous = state.current
    state.current = serving
    state.last = {**state.last, "reconciled": f"{tag} serves; release.json said otherwise"}
    return state


def deploy(config: HostConfig, ref: str, tag: str, action: str) -> Release:
    """Run `ref` (a tag or digest) blue/green; return the release now serving."""
    started = time.monotonic()
    state_file = Path(config.state_dir) / "release.json"
    with exclusive(Path(config.state_dir) / "lock"):
        state = reconcile(config, State.load(config.state_dir))
        try:
            release = _deploy(config, ref, tag)
        except HostError as exc:
            state.last = _outcome(action, tag, started, reason=str(exc))
            try:
                state.save(config.state_dir)
            except OSError as error:
                log(f"{state_file} not written ({error.strerror})")
            raise
        if action != "start":  # a restart of the same release keeps the history
            state.previous = state.current
        state.current = release
        state.went_live(release, config.keep_releases)
        state.last = _outcome(action, tag, started)
        try:
            state.save(config.state_dir)
        except OSError as exc:
            # What serves is what counts (exit 0): status and the next release reconcile
            # from the proxy and Docker; only the history of good releases misses this one.
            log(
                f"{tag} is live, but {state_file} could not be written ({exc.strerror}): "
                f"free space in {config.state_dir}"
            )
        return release


def _outcome(action: str, tag: str, started: float, reason: str = "") -> dict:
    return {
        "action": action,
        "tag": tag,
        "ok": not reason,
        "reason": reason,
        "seconds": round(time.monotonic() - started, 2),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _deploy(config: HostConfig, ref: str, tag: str) -> Release:
    # 1. Everything that can fail outside our control, before anything is changed.
    aws = Aws(config.region)
    secrets = fetch_secrets(config, aws)
    docker.login(config.registry, aws.registry_password())
    try:
        log(f"pulling {docker.image_ref(config.image_repository, ref)}")
        digest = docker.pull(config.image_repository, ref)
    finally:  # the token is good for 12 hours: do not leave it in /root/.docker
        docker.logout(config.registry)

    # 2. The new container beside the serving one.
    old = serving_slot(config)
    new = "green" if old == "blue" else "blue"
    name, port = container(config, new), slot_port(config, new)
    drain.stop_previous(config, log)  # a release still draining holds this slot
    docker.remove(name)  # a leftover of a failed attempt; never the serving one
    os.makedirs(config.data_dir, exist_ok=True)
    os.chown(config.data_dir, config.container_uid, -1)
    spec = docker.RunSpec(
        name=name,
        image=docker.image_ref(config.image_repository, ref),
        host_port=port,
        app_port=config.app_port,
        data_dir=config.data_dir,
        secret_files=write_secrets(config, secrets),
        labels=(
            ("ragstream.tag", tag),
            ("ragstream.digest", digest),
            ("ragstream.stack", config.stack),
        ),
    )
    try:
        docker.run(spec)
        log(f"started {name} on 127.0.0.1:{port}; waiting for health")
        wait_healthy(config, new)
        # 3. The switch: only a healthy container ever receives traffic.
        proxy.switch_upstream(config, port)
    except HostError:
        docker.remove(name)  # the proxy still points where it did (switch_upstream)
        raise
    log(f"healthy; proxy now sends traffic to {name}")
    if old is not None:
        drain.retire(config, container(config, old), slot_port(config, old), log)
    return Release(tag=tag, digest=digest, slot=new, at=datetime.now(UTC).isoformat())
