"""The container a release switched away from: kept while it still serves WebSockets.

After a switch, Caddy (with `stream_close_delay`, see proxy.py) keeps the streams of the
old config open to the old container: Streamlit sessions that were open carry on. The old
container must live as long as they do, up to the drain timeout, and then stop. A release
must not wait minutes for that, so a detached `ragstream-host drain` process waits;
<state_dir>/draining.json names it and its container. The next release (which needs that
slot) stops both first, and a drainer killed half-way leaves only a container in the idle
slot, which the next start or release removes like any leftover.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ragstream.host import docker, proxy
from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.files import exclusive, write_atomic

RECORD = "draining.json"
LOG = "drain.log"  # the drainer's lines (it outlives the command whose stderr it had)
GRACE_SECONDS = 2.0  # requests already sent to the old container get to finish
POLL_SECONDS = 1.0
# 127.0.0.1 as /proc/net/tcp writes it, and as an IPv4-mapped address in /proc/net/tcp6.
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}
ESTABLISHED = "01"
Log = Callable[[str], None]  # release.log (one line on stderr)


@dataclass(frozen=True)
class Drain:
    container: str  # the id: never a later container that took the same name
    name: str
    port: int  # its loopback port
    until: float  # epoch seconds: stopped then whatever is still open
    pid: int = 0  # the drainer


def open_streams(port: int) -> int:
    """Established connections from this host to 127.0.0.1:port: what Caddy still proxies
    to the container published there (a reload closes its idle keep-alive ones)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            columns = row.split()
            address, _, hex_port = columns[2].partition(":")
            if columns[3] == ESTABLISHED and address in LOOPBACK and int(hex_port, 16) == port:
                count += 1
    return count


def load(state_dir: str) -> Drain | None:
    try:
        return Drain(**json.loads((Path(state_dir) / RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _forget(state_dir: str, container: str) -> None:
    """Remove the record if it still names `container` (under the agent's lock)."""
    with exclusive(Path(state_dir) / "lock"):
        found = load(state_dir)
        if found is not None and found.container == container:
            (Path(state_dir) / RECORD).unlink(missing_ok=True)


def _remove(container: str) -> None:
    """Stop (10 s grace) and remove a container by id; gone already is fine."""
    try:
        docker.docker("stop", "--time", "10", container)
        docker.docker("rm", "--force", container)
    except HostError as exc:
        if "No such container" not in str(exc):
            raise


def _agent_command() -> list[str]:
    """How to run this agent again: the zipapp it was started from (on a host), or the
    module (from a source checkout)."""
    program = sys.argv[0]
    if program and os.path.isfile(program) and zipfile.is_zipfile(program):
        return [sys.executable, program]
    return [sys.executable, "-m", "ragstream.host.agent"]


def _is_drainer(pid: int, container: str) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"drain" in argv and container.encode() in argv


def stop_previous(config: HostConfig, log: Log) -> None:
    """A new release needs the slot being drained: stop its drainer and its container."""
    drain = load(config.state_dir)
    if drain is None:
        return
    if drain.pid and _is_drainer(drain.pid, drain.container):
        os.kill(drain.pid, signal.SIGTERM)
    _remove(drain.container)
    (Path(config.state_dir) / RECORD).unlink(missing_ok=True)
    log(f"stopped draining {drain.name}: this release needs its slot")


def retire(config: HostConfig, name: str, port: int, log: Log) -> None:
    """Stop the old container `name` once Caddy proxies no stream to it: now if none is
    open (or Caddy closed them at the reload), else from a detached drainer."""
    time.sleep(GRACE_SECONDS)
    delay = proxy.stream_close_delay(config)
    if config.drain_timeout > 0 and delay == 0:
        version = ".".join(map(str, proxy.caddy_version() or ())) or "unknown"
        log(
            f"caddy {version} closes WebSockets at each reload (stream_close_delay needs "
            "caddy >= 2.7): open sessions reconnect to the new container"
        )
    streams = open_streams(port)
    if delay == 0 or streams == 0:
        docker.remove(name)
        return
    info = docker.state(name)
    if not info:
        return
    drain = Drain(info["Id"], name, port, time.time() + delay - GRACE_SECONDS)
    argv = [*_agent_command(), "drain", "--container", drain.container, "--port", str(port)]
    argv += ["--until", f"{drain.until:.0f}", "--state-dir", config.state_dir]
    with open(Path(config.state_dir) / LOG, "ab") as output:
        # Its own session, no pipe of ours: SSM and systemd see this command end now.
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
        )
    drain = replace(drain, pid=process.pid)
    try:
        text = json.dumps(asdict(drain), indent=2) + "\n"
        write_atomic(Path(config.state_dir) / RECORD, text.encode(), mode=0o644)
    except OSError as exc:  # the drainer still stops it; a next release removes it anyway
        log(f"{RECORD} not written ({exc.strerror})")
    log(
        f"{name} keeps serving its {streams} open WebSocket connection(s) for up to "
        f"{delay:g} s; drainer pid {process.pid} stops it then (log: {LOG})"
    )


def run(state_dir: str, container: str, port: int, until: float, log: Log) -> None:
    """The drainer: wait for the streams to close or `until`, then stop the container."""
    while open_streams(port) > 0 and time.time() < until:
        time.sleep(POLL_SECONDS)
    why = "drain timeout" if open_streams(port) else "its WebSockets closed"
    _remove(container)
    _forget(state_dir, container)
    log(f"stopped {container[:12]} ({why})")
