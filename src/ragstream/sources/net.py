"""The one way a source fetches over HTTP: checked scheme and addresses, capped size.

SSRF: every host (the first URL and each redirect target) is resolved here, every
address it resolves to must be public unless `allow_private`, and the connection goes to
an address that was checked (pinned), so DNS cannot answer differently a moment later.
Redirects are followed by hand (each hop re-checked); a loop or more than MAX_REDIRECTS
hops is an error. Bodies are read up to `max_bytes` and against a total deadline, so a
huge or dribbling response cannot hold a sync. Errors are one-line FetchErrors.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ragstream.errors import SourceError

MAX_REDIRECTS = 5
USER_AGENT = "ragstream-sync/0.1 (+https://github.com/ragstream)"
READ_CHUNK = 64 * 1024


class FetchError(SourceError):
    """One URL could not be fetched; the message is one line."""


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def check_address(host: str, port: int, allow_private: bool) -> str:
    """An address of `host` to connect to, after checking all of them (SSRF)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host} ({exc.strerror})") from None
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            if not ip.is_global or ip.is_multicast:
                raise FetchError(
                    f"{host} resolves to {address}, a private, loopback or reserved address: "
                    "refused (add the source with --allow-private for an intranet)"
                )
    return addresses[0]


def fetch(
    url: str,
    *,
    allow_private: bool,
    timeout: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    pace: Callable[[str], None] | None = None,
) -> Response:
    """GET `url`, following redirects safely; any status is returned (no raise on 4xx).

    `pace(url)` is called before every request, redirect hops included (rate limits).
    """
    seen: list[str] = []
    current = url
    deadline = time.monotonic() + timeout * 3  # all hops and the body together
    while True:
        if current in seen:
            raise FetchError(f"redirect loop ({' -> '.join([*seen, current])[:300]})")
        if len(seen) > MAX_REDIRECTS:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects")
        seen.append(current)
        if pace is not None:
            pace(current)
        response = _get_once(current, allow_private, timeout, deadline, max_bytes, headers)
        location = response.headers.get("location")
        if response.status in (301, 302, 303, 307, 308) and location:
            current = urljoin(current, location).split("#")[0]
            continue
        return response


def _get_once(
    url: str,
    allow_private: bool,
    timeout: float,
    deadline: float,
    max_bytes: int,
    headers: Mapping[str, str] | None,
) -> Response:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http:// and https:// URLs are fetched (not {scheme}:)")
    host = parts.hostname
    if not host:
        raise FetchError(f"{url}: no host name")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"{url}: the port is not a number") from None
    address = check_address(host, port, allow_private)
    conn_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_class(host, port, timeout=timeout)

    def pinned(_addr: object, *args: object, **kwargs: object) -> socket.socket:
        return socket.create_connection((address, port), timeout)

    conn._create_connection = pinned  # type: ignore[attr-defined]  # TLS still checks `host`
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, **(headers or {})})
        raw = conn.getresponse()
        names = {k.lower(): v for k, v in raw.getheaders()}
        length = names.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(f"response is {_mb(int(length))}, over the {_mb(max_bytes)} cap")
        body = _read_capped(raw, max_bytes, deadline)
        return Response(url, raw.status, names, body)
    except TimeoutError:
        raise FetchError(f"no answer from {host} within {timeout:g}s") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise FetchError(f"cannot reach {host}:{port} ({reason})") from None
    finally:
        conn.close()


def _read_capped(raw: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError("the response took too long to arrive (slow server)")
        chunk = raw.read1(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"response is over the {_mb(max_bytes)} cap")
        chunks.append(chunk)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
