"""Signed session cookies that expire and can be revoked (logout).

A cookie is `<payload>.<signature>`: the payload is base64url JSON {sid, user, exp}, the
signature HMAC-SHA256 over it with the store's secret. Nothing secret is inside, so a
cookie shown in a browser's tools reveals only the user name and the expiry. The secret
is random per process unless one is given: a restart signs everyone out, by design
(no secret to keep on disk); replicas sharing a database use `shared_sessions` instead. Logout adds the session id to a revoked set, pruned as
those sessions would have expired anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

COOKIE_NAME = "ragstream_session"
# The signed-in user, as the gateway tells the page; set by the gateway alone.
USER_HEADER = "x-ragstream-user"
SESSION_HOURS = 12.0


@dataclass(frozen=True)
class Session:
    id: str
    user: str
    expires: float  # Unix time


class Sessions(Protocol):
    """What the gateway needs of a session keeper: this module's signed cookies for one
    server, `shared_sessions.PostgresSessionStore` for replicas sharing a database."""

    lifetime_s: float

    def issue(self, user: str) -> tuple[str, Session]: ...

    def verify(self, cookie: str | None) -> Session | None: ...

    def revoke(self, session: Session) -> None: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionStore:
    def __init__(
        self,
        secret: bytes | None = None,
        hours: float = SESSION_HOURS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.lifetime_s = hours * 3600
        self._clock = clock
        self._revoked: dict[str, float] = {}  # session id -> its expiry
        self._lock = threading.Lock()

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, user: str) -> tuple[str, Session]:
        """A new session for `user` and the cookie value that carries it."""
        session = Session(secrets.token_urlsafe(16), user, self._clock() + self.lifetime_s)
        body = json.dumps({"sid": session.id, "user": user, "exp": session.expires})
        payload = _b64(body.encode("utf-8"))
        return f"{payload}.{self._sign(payload)}", session

    def verify(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or None if forged, malformed, expired or revoked."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        try:
            expected = self._sign(payload)
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode()):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(str(data["sid"]), str(data["user"]), float(data["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= self._clock():
            return None
        with self._lock:
            if session.id in self._revoked:
                return None
        return session

    def revoke(self, session: Session) -> None:
        now = self._clock()
        with self._lock:
            self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp > now}
            self._revoked[session.id] = session.expires
