"""WebSocket sessions through a test site's Caddy, and what the agent left behind."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

from tests.host.site import Site
from tests.support.docker import docker


def containers(site: Site) -> dict[str, str]:
    """{container id: name} of this site's containers."""
    out = docker(
        "ps",
        "--all",
        "--filter",
        f"name={site.config.container_name}-",
        "--format",
        "{{.ID}} {{.Names}}",
        "--no-trunc",
    ).stdout
    return dict(line.split() for line in out.splitlines())


def drain_record(site: Site) -> dict | None:
    path = Path(site.config.state_dir) / "draining.json"
    return json.loads(path.read_text()) if path.exists() else None


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not reaped yet) is gone for our purpose.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@contextlib.contextmanager
def open_sessions(site: Site, count: int) -> Iterator[list[ClientConnection]]:
    url = site.proxy_url.replace("http://", "ws://") + "/ws"
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(url, open_timeout=10)) for _ in range(count)]
        yield sockets


def echo(ws: ClientConnection, text: str) -> str:
    ws.send(text)
    reply = ws.recv(timeout=5)
    return reply if isinstance(reply, str) else reply.decode()
