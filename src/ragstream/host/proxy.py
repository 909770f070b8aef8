"""Caddy in front of the app: automatic HTTPS with a domain, plain HTTP without.

The agent owns the Caddyfile: a release rewrites it (atomically) with the new loopback
upstream and asks the running Caddy to reload it, which swaps upstreams gracefully
(listeners are kept, in-flight requests finish), so a switch drops no request.

WebSockets (Streamlit's session) are another matter: a reload closes every stream the old
config proxied, unless that config had `stream_close_delay` (Caddy >= 2.7), which keeps
them open up to the delay. So the Caddyfile carries the host's drain timeout as that
delay when the installed Caddy knows it, and nothing otherwise (2.6 rejects the word).
"""

from __future__ import annotations

import functools
import subprocess
from importlib.resources import files
from pathlib import Path
from string import Template

from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.files import write_atomic

STREAM_CLOSE_DELAY_SINCE = (2, 7)  # the Caddy release that added stream_close_delay


def render_caddyfile(config: HostConfig, upstream_port: int, close_delay: float = 0.0) -> str:
    """The Caddyfile; `close_delay` > 0 (seconds) keeps WebSockets open across a reload."""
    # A bare ":port" site serves plain HTTP; a host name turns on automatic HTTPS.
    site = config.domain or f":{config.http_port}"
    options = (
        f" {{\n\t\tstream_close_delay {round(close_delay * 1000)}ms\n\t}}"
        if close_delay > 0
        else ""
    )
    template = Template((files("ragstream.host") / "templates" / "Caddyfile").read_text())
    return template.substitute(
        admin=config.proxy_admin, site=site, upstream=upstream_port, options=options
    )


def parse_version(text: str) -> tuple[int, ...] | None:
    """(2, 6, 2) from `caddy version`'s "v2.6.2 h1:..." (Debian's says "2.6.2"), else None."""
    words = text.split()
    numbers = words[0].lstrip("v").split("-")[0].split(".") if words else []
    try:
        return tuple(int(n) for n in numbers) or None
    except ValueError:
        return None


@functools.cache
def caddy_version() -> tuple[int, ...] | None:
    """The version of the `caddy` on PATH (the one caddy.service runs), None if unknown."""
    try:
        result = subprocess.run(
            ["caddy", "version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_version(result.stdout) if result.returncode == 0 else None


def stream_close_delay(config: HostConfig, version: tuple[int, ...] | None = None) -> float:
    """The stream_close_delay to render: the drain timeout if this Caddy (`version`, else
    the one on PATH) supports it."""
    version = version or caddy_version()
    return config.drain_timeout if version and version >= STREAM_CLOSE_DELAY_SINCE else 0.0


def current_upstream(config: HostConfig) -> int | None:
    """The loopback port the Caddyfile points at, or None if there is no Caddyfile yet."""
    try:
        text = Path(config.caddyfile).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        words = line.split()  # "reverse_proxy 127.0.0.1:8501" (then maybe "{")
        if len(words) >= 2 and words[0] == "reverse_proxy" and ":" in words[1]:
            return int(words[1].rsplit(":", 1)[1])
    return None


def switch_upstream(config: HostConfig, upstream_port: int) -> None:
    """Point Caddy at 127.0.0.1:upstream_port and reload it; raise HostError if it refuses."""
    path = Path(config.caddyfile)
    text = render_caddyfile(config, upstream_port, stream_close_delay(config))
    write_atomic(path, text.encode(), mode=0o644)
    result = subprocess.run(
        ["caddy", "reload", "--config", str(path), "--adapter", "caddyfile", "--force"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise HostError(f"caddy reload of {path} failed ({reason}); is caddy.service running?")
