"""Caddy in front of the app: automatic HTTPS with a domain, plain HTTP without.

The agent owns the Caddyfile: a release rewrites it (atomically) with the new loopback
upstream and asks the running Caddy to reload it, which swaps upstreams gracefully
(listeners are kept, in-flight requests finish), so a switch drops no request.
"""

from __future__ import annotations

import subprocess
from importlib.resources import files
from pathlib import Path
from string import Template

from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.files import write_atomic


def render_caddyfile(config: HostConfig, upstream_port: int) -> str:
    # A bare ":port" site serves plain HTTP; a host name turns on automatic HTTPS.
    site = config.domain or f":{config.http_port}"
    template = Template((files("ragstream.host") / "templates" / "Caddyfile").read_text())
    return template.substitute(admin=config.proxy_admin, site=site, upstream=upstream_port)


def current_upstream(config: HostConfig) -> int | None:
    """The loopback port the Caddyfile points at, or None if there is no Caddyfile yet."""
    try:
        text = Path(config.caddyfile).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "reverse_proxy" and ":" in words[1]:
            return int(words[1].rsplit(":", 1)[1])
    return None


def switch_upstream(config: HostConfig, upstream_port: int) -> None:
    """Point Caddy at 127.0.0.1:upstream_port and reload it; raise HostError if it refuses."""
    path = Path(config.caddyfile)
    write_atomic(path, render_caddyfile(config, upstream_port).encode(), mode=0o644)
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
