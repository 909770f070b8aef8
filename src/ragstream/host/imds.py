"""EC2 instance metadata over IMDSv2: PUT a session token, then GET with it.

`RAGSTREAM_IMDS_ENDPOINT` overrides the address (tests run a loopback server).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

from ragstream.host.errors import HostError

DEFAULT_ENDPOINT = "http://169.254.169.254"
TOKEN_TTL = "60"


def endpoint() -> str:
    return os.environ.get("RAGSTREAM_IMDS_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def _call(request: urllib.request.Request, timeout: float) -> str:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode().strip()
    except urllib.error.HTTPError as exc:
        raise HostError(f"instance metadata {request.full_url} answered {exc.code}") from None
    except OSError as exc:
        raise HostError(f"instance metadata at {endpoint()} unreachable ({exc})") from None


def get_metadata(path: str, timeout: float = 2.0) -> str:
    """GET /latest/meta-data/<path> with a fresh IMDSv2 token."""
    base = endpoint()
    token = _call(
        urllib.request.Request(
            f"{base}/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL},
        ),
        timeout,
    )
    return _call(
        urllib.request.Request(
            f"{base}/latest/meta-data/{path}", headers={"X-aws-ec2-metadata-token": token}
        ),
        timeout,
    )


def public_ipv4() -> str:
    address = get_metadata("public-ipv4")
    parts = address.split(".")
    if len(parts) != 4 or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
        raise HostError(f"instance metadata returned {address!r} as public-ipv4; has it one?")
    return address
