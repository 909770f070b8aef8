"""With Debian's Caddy 2.6 (no stream_close_delay) a release works as it always did: the
Caddyfile never names the delay (2.6 would refuse it), sessions are closed at the switch
and reconnect, the old container stops at once, and the agent says so in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragstream.host.proxy import STREAM_CLOSE_DELAY_SINCE
from tests.host.sessions import containers, drain_record, echo, open_sessions
from tests.host.site import Site, caddy_version

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

CADDY = shutil.which("caddy", path="/usr/bin:/usr/local/bin")  # the site fixture runs this one
if CADDY is None or (caddy_version(CADDY) or (9,)) >= STREAM_CLOSE_DELAY_SINCE:
    pytest.skip("needs a Caddy older than 2.7 (Debian's caddy)", allow_module_level=True)


def test_old_caddy_closes_sessions_and_the_agent_falls_back(site: Site) -> None:
    assert site.agent("start").returncode == 0
    with open_sessions(site, 3) as sessions:
        assert {echo(ws, "before") for ws in sessions} == {"good-1:before"}
        result = site.agent("release", "--tag", "good-2")
        assert result.returncode == 0, result.stderr
        fallback = [line for line in result.stderr.splitlines() if "closes WebSockets" in line]
        assert len(fallback) == 1 and "caddy 2.6" in fallback[0]
        for ws in sessions:  # today's behaviour: closed by the reload
            with pytest.raises(Exception):  # noqa: B017
                echo(ws, "after")
    assert "stream_close_delay" not in Path(site.config.caddyfile).read_text()
    assert site.get() == (200, "good-2")
    assert len(containers(site)) == 1 and drain_record(site) is None
