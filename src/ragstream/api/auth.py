"""Who may call the API: bearer tokens in front of every door (REST, /v1, /mcp).

    tokens exist            every request but the public paths needs `Authorization:
                            Bearer <token>` (401 missing/wrong/revoked, 403 read-only
                            token on a write); the page's cookie is never accepted
    no tokens, loopback     open, for a developer's own machine; the Host header must be
                            a loopback name too, so a web page cannot reach it by DNS
                            rebinding (403)
    no tokens, public bind  refused before the server starts (`check_bind`)

Failed tokens are rate-limited per client address: after `max_failures` within
`window` seconds that address gets 429 with Retry-After until the window has passed.
Behind the host's Caddy the address is the real client's: uvicorn takes it from
X-Forwarded-For when the peer is loopback (its default `forwarded_allow_ips`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ragstream.api.errors import error_body
from ragstream.api.tokens import TokenStore
from ragstream.auth.network import is_loopback
from ragstream.errors import ConfigError, RagstreamError

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

PUBLIC_PATHS = frozenset({"/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRITE_PREFIXES = ("/api/v1/documents",)  # reads may POST (search, ask, chat, MCP calls)


def host_name(header: str) -> str:
    """The host part of a Host header: `127.0.0.1:8501` -> `127.0.0.1`, `[::1]:80` -> `[::1]`."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


def check_bind(host: str, tokens: TokenStore) -> None:
    """Refuse to serve an unauthenticated API beyond this machine (one-line reason)."""
    if not is_loopback(host) and not tokens.has_active():
        raise ConfigError(
            f"refusing to serve the API on {host} without tokens: create one with "
            "`ragstream token create NAME`, or bind to 127.0.0.1"
        )


class FailureLimiter:
    """Sliding window of failed attempts per client address."""

    def __init__(self, max_failures: int = 10, window: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until this client may try again, or None when not blocked."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                return None
            return max(1, int(times[0] + self.window - now) + 1)

    def fail(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # forget idle clients; bounded memory
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]


class BearerAuth:
    """ASGI middleware applying the rules above to HTTP requests."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: TokenStore,
        *,
        allow_open: bool,
        limiter: FailureLimiter | None = None,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.allow_open = allow_open
        self.limiter = limiter or FailureLimiter()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            refusal = self._refusal(scope)
        except RagstreamError as exc:  # the token store is unreachable: say so, no 500
            refusal = 503, "store_unavailable", str(exc), {}
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, code, message, headers = refusal
        await send_json(send, status, error_body(status, code, message), headers)

    def _refusal(self, scope: Scope) -> tuple[int, str, str, dict[str, str]] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = (scope.get("client") or ("unknown", 0))[0]
        auth = headers.get("authorization", "")
        if not self.tokens.has_active():
            if not self.allow_open:
                return 401, "unauthorized", _NO_TOKENS, {}
            host = host_name(headers.get("host", ""))
            if not is_loopback(host):
                return 403, "forbidden", f"host {host!r} is not loopback: use 127.0.0.1", {}
            return None
        wait = self.limiter.retry_after(client)
        if wait is not None:
            message = f"too many failed tokens from {client}; retry in {wait} s"
            return 429, "rate_limited", message, {"retry-after": str(wait)}
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.limiter.fail(client)
            return 401, "unauthorized", _MISSING, {"www-authenticate": "Bearer"}
        record = self.tokens.verify(token.strip())
        if record is None:
            self.limiter.fail(client)
            message = "the token is wrong or revoked (see `ragstream token list`)"
            return 401, "unauthorized", message, {"www-authenticate": "Bearer"}
        if record.scope != "write" and _is_write(scope):
            message = f"token {record.id} ({record.name}) is read-only: uploads and deletes need a write token"
            return 403, "forbidden", message, {}
        scope.setdefault("state", {})["token"] = record
        return None


_NO_TOKENS = "no API tokens exist: create one with `ragstream token create NAME`"
_MISSING = "send `Authorization: Bearer <token>` (create one with `ragstream token create NAME`)"


def _is_write(scope: Scope) -> bool:
    return scope["method"] in WRITE_METHODS and scope["path"].startswith(WRITE_PREFIXES)


async def send_json(send: Any, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
