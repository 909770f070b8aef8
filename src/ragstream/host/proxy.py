"""Caddy in front of the app: automatic HTTPS with a domain, plain HTTP without.

The agent owns the Caddyfile and switches the upstream (the new container's loopback
port) at each release. How depends on the Caddy that runs:

- Caddy >= 2.8 reads the port from a file at every request (`{file.*}`, UPSTREAM_FILE
  beside the Caddyfile): a switch is an atomic rename of that file and Caddy is not
  reloaded. A reload (any Caddy) opens a new listening socket and closes the old one,
  which resets the few connections still queued on it (measured: ~1 per reload at 2,700
  requests/s), and closes every WebSocket the old config proxied.
- Older Caddy: the port is in the Caddyfile, which is rewritten and reloaded.

A reload still happens when the Caddyfile itself changes (a domain added, a new drain
timeout). For those, the Caddyfile carries the host's drain timeout as
`stream_close_delay` when the installed Caddy knows it (>= 2.7), which keeps the old
config's streams open up to that delay (2.6 rejects the word).
"""

from __future__ import annotations

import contextlib
import functools
import subprocess
from importlib.resources import files
from pathlib import Path
from string import Template

from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.files import write_atomic

STREAM_CLOSE_DELAY_SINCE = (2, 7)  # the Caddy release that added stream_close_delay
UPSTREAM_FILE_SINCE = (2, 8)  # ... and the {file.*} placeholder
UPSTREAM_FILE = "ragstream-upstream"  # beside the Caddyfile: the port, and nothing else
UPSTREAM_VAR = "ragstream_upstream"  # the Caddy variable the port file is read into


def upstream_file(config: HostConfig) -> Path:
    return Path(config.caddyfile).with_name(UPSTREAM_FILE)


def reads_upstream_file(version: tuple[int, ...] | None) -> bool:
    return bool(version and version >= UPSTREAM_FILE_SINCE)


def render_caddyfile(
    config: HostConfig, upstream_port: int, version: tuple[int, ...] | None = None
) -> str:
    """The Caddyfile for the Caddy `version` (None: the oldest, 2.6): from 2.8 it reads
    the port from upstream_file() and `upstream_port` goes there instead (`files`)."""
    # A bare ":port" site serves plain HTTP; a host name turns on automatic HTTPS.
    site = config.domain or f":{config.http_port}"
    close_delay = stream_close_delay(config, version)
    options = (
        f" {{\n\t\tstream_close_delay {round(close_delay * 1000)}ms\n\t}}"
        if close_delay > 0
        else ""
    )
    route, upstream = "", str(upstream_port)
    if reads_upstream_file(version):
        route = f"vars {UPSTREAM_VAR} {{file.{upstream_file(config)}}}\n\t"
        upstream = f"{{vars.{UPSTREAM_VAR}}}"
    template = Template((files("ragstream.host") / "templates" / "Caddyfile").read_text())
    return template.substitute(
        admin=config.proxy_admin, site=site, route=route, upstream=upstream, options=options
    )


def files_for(
    config: HostConfig, upstream_port: int, version: tuple[int, ...] | None
) -> dict[Path, bytes]:
    """What the proxy reads, by path: the Caddyfile and, from Caddy 2.8, the port file."""
    written = {Path(config.caddyfile): render_caddyfile(config, upstream_port, version).encode()}
    if reads_upstream_file(version):
        written[upstream_file(config)] = str(upstream_port).encode()
    return written


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


def stream_close_delay(config: HostConfig, version: tuple[int, ...] | None) -> float:
    """The stream_close_delay to render: the drain timeout if Caddy `version` knows it."""
    return config.drain_timeout if version and version >= STREAM_CLOSE_DELAY_SINCE else 0.0


def current_upstream(config: HostConfig) -> int | None:
    """The loopback port Caddy sends new requests to, None before the first Caddyfile."""
    try:
        text = Path(config.caddyfile).read_text(encoding="utf-8")
        for line in text.splitlines():
            words = line.split()  # "reverse_proxy 127.0.0.1:8501" (then maybe "{")
            if len(words) >= 2 and words[0] == "reverse_proxy" and ":" in words[1]:
                port = words[1].rsplit(":", 1)[1]
                if port == f"{{vars.{UPSTREAM_VAR}}}":
                    port = upstream_file(config).read_text(encoding="utf-8")
                return int(port)
    except (FileNotFoundError, ValueError):
        pass
    return None


def switch_upstream(config: HostConfig, upstream_port: int) -> None:
    """Send new requests to 127.0.0.1:upstream_port: by the port file alone when the
    running Caddyfile already reads it, else by a new Caddyfile and a reload (put back as
    it was if Caddy refuses it). Raise HostError if the switch did not happen."""
    wanted = files_for(config, upstream_port, caddy_version())
    caddyfile = Path(config.caddyfile)
    before = {path: _read(path) for path in wanted}
    reload = before[caddyfile] != wanted[caddyfile]
    try:
        for path, data in sorted(wanted.items(), key=lambda item: item[0] == caddyfile):
            write_atomic(path, data, mode=0o644)  # the port first, the Caddyfile last
    except OSError as exc:
        _put_back(before)
        raise HostError(f"could not write {exc.filename} ({exc.strerror})") from exc
    if not reload:
        return
    result = subprocess.run(
        ["caddy", "reload", "--config", str(caddyfile), "--adapter", "caddyfile", "--force"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        _put_back(before)  # Caddy kept its running config: the files say so again
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise HostError(f"caddy reload of {caddyfile} failed ({reason}); is caddy.service running?")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _put_back(before: dict[Path, bytes | None]) -> None:
    for path, data in before.items():
        with contextlib.suppress(OSError):
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, data, mode=0o644)
