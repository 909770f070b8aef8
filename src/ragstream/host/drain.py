"""The container a release switched away from: kept while it still serves WebSockets.

After a switch, Caddy keeps the streams it proxied to the old container open (>= 2.8
switches without a reload, 2.7 keeps them for `stream_close_delay`; see proxy.py):
Streamlit sessions that were open carry on. The old container must live as long as they
do, up to the drain timeout, and then stop. A release
must not wait minutes for that, so a detached `ragstream-host drain` process waits;
<state_dir>/draining.json names it and its container. The next release (which needs that
slot) stops both first, and a drainer killed half-way leaves only a container in the idle
slot, which the next start or release removes like any leftover.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from ragstream.host import docker, proxy
from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.files import exclusive, write_atomic

RECORD = "draining.json"  # {container (id), name, port, until (epoch s), pid (drainer)}
LOG = "drain.log"  # the drainer's lines (it outlives the command whose stderr it had)
LOG_MAX_BYTES = 1 << 20  # then it becomes drain.log.1 (a few lines per release: years)
GRACE_SECONDS = 2.0  # requests already sent to the old container get to finish
# 127.0.0.1 as /proc/net/tcp writes it, and as an IPv4-mapped address in /proc/net/tcp6.
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}
Log = Callable[[str], None]  # release.log (one line on stderr)


def open_streams(port: int) -> int:
    """Established connections from this host to 127.0.0.1:port: what Caddy still proxies
    to the container published there (a reload closes its idle keep-alive ones)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:] if Path(table).exists() else ():
            _, _, remote, status, *_ = row.split()
            address, _, hex_port = remote.partition(":")
            count += status == "01" and address in LOOPBACK and int(hex_port, 16) == port
    return count


def load(state_dir: str) -> dict | None:
    try:
        found = json.loads((Path(state_dir) / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _save(state_dir: str, record: dict) -> None:
    write_atomic(Path(state_dir) / RECORD, json.dumps(record).encode(), mode=0o644)


def _remove(container: str) -> None:
    """Stop (10 s grace) and remove a container by id (never a later one of that name)."""
    try:
        docker.docker("stop", "--time", "10", container)
        docker.docker("rm", "--force", container)
    except HostError as exc:
        if "No such container" not in str(exc):
            raise


def stop_previous(config: HostConfig, log: Log) -> None:
    """A new release needs the slot being drained: stop its drainer and its container."""
    record = load(config.state_dir)
    if record is None:
        return
    try:  # only if that pid is still our drainer (pids get reused)
        argv = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")
        if b"drain" in argv and config.state_dir.encode() in argv:
            os.kill(record["pid"], signal.SIGTERM)
    except (OSError, KeyError):
        pass
    _remove(record["container"])
    (Path(config.state_dir) / RECORD).unlink(missing_ok=True)
    log(f"stopped draining {record['name']}: this release needs its slot")


def retire(config: HostConfig, name: str, port: int, log: Log) -> None:
    """Stop the old container `name` once Caddy proxies no stream to it: now if none is
    open (or Caddy closed them at the reload), else from a detached drainer."""
    time.sleep(GRACE_SECONDS)
    version = proxy.caddy_version()
    delay = proxy.stream_close_delay(config, version)
    if config.drain_timeout > 0 and delay == 0:
        shown = ".".join(map(str, version or ())) or "unknown"
        log(
            f"caddy {shown} closes WebSockets at reloads (keeping them needs caddy "
            ">= 2.7): open sessions reconnect"
        )
    streams = open_streams(port)
    info = docker.state(name)
    record = {"container": info.get("Id"), "name": name, "port": port, "pid": 0}
    record["until"] = time.time() + delay - GRACE_SECONDS
    try:
        if delay and streams and info:
            _save(config.state_dir, record)  # first: the drainer reads it
    except OSError as exc:
        log(f"{RECORD} not written ({exc.strerror}): not draining")
        streams = 0
    if not (delay and streams and info):
        docker.remove(name)
        return
    # This agent again: the zipapp it runs from (a host), else the module (a checkout).
    program = sys.argv[0]
    agent = [program] if zipfile.is_zipfile(program) else ["-m", "ragstream.host.agent"]
    try:
        output = open(log_file(config.state_dir), "ab")  # noqa: SIM115 (closed below)
    except OSError:
        output = open(os.devnull, "ab")  # noqa: SIM115 (the release is live: drain unlogged)
    with output:
        # Its own session, no pipe of ours: SSM and systemd see this command end now.
        process = subprocess.Popen(
            [sys.executable, *agent, "drain", config.state_dir],
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    record["pid"] = process.pid
    with contextlib.suppress(OSError):  # the drainer runs either way
        _save(config.state_dir, record)
    log(f"{name} keeps its {streams} WebSocket(s) open up to {delay:g} s (drainer {process.pid})")


def log_file(state_dir: str) -> Path:
    """drain.log, moved to drain.log.1 first once it is over LOG_MAX_BYTES."""
    path = Path(state_dir) / LOG
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_MAX_BYTES:
            path.replace(path.with_name(f"{LOG}.1"))
    return path


def run(state_dir: str, log: Log) -> None:
    """The drainer: wait for the streams to close or the record's `until`, then stop."""
    record = load(state_dir)
    if record is None:
        return
    while open_streams(record["port"]) and time.time() < record["until"]:
        time.sleep(1)
    why = "timeout" if open_streams(record["port"]) else "its WebSockets closed"
    _remove(record["container"])
    with exclusive(Path(state_dir) / "lock"):  # not if a release took over meanwhile
        if (load(state_dir) or {}).get("container") == record["container"]:
            (Path(state_dir) / RECORD).unlink()
    log(f"stopped {record['name']} ({why})")
