"""Web sessions kept in the PostgreSQL database, so every replica of a fleet knows them.

`SessionStore` signs cookies with a secret random per process: right for one server, but
behind a load balancer a visitor sent to another replica would be asked to sign in again,
and a logout would only be seen by the replica that took it. Here the cookie is a random
session id instead, and the table `web_sessions` (created on first use, like `api_tokens`)
holds its SHA-256 (the session's id), user and expiry: a database read gives no usable cookie, and a logout
on one replica ends the session on all of them.

Each replica remembers a verified session for `recheck_s` seconds, so a page's burst of
requests costs one query; a logout elsewhere is therefore seen within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from ragstream.auth.sessions import SESSION_HOURS, Session
from ragstream.errors import ConfigError, StoreError
from ragstream.redact import first_line

SCHEMA = """
CREATE TABLE IF NOT EXISTS web_sessions (
    sid_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION)
"""
RECHECK_S = 5.0
_MAX_COOKIE = 200  # ours are 43 characters; a longer one is not ours, and never hashed


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


class PostgresSessionStore:
    """Issue, verify and revoke sessions in the `web_sessions` table."""

    def __init__(
        self,
        url: str,
        hours: float = SESSION_HOURS,
        recheck_s: float = RECHECK_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.lifetime_s = hours * 3600
        self._recheck_s = recheck_s
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: Any = None
        self._seen: dict[str, tuple[Session, float]] = {}  # digest -> (session, checked at)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement under the lock; a dead connection is re-opened by the next call."""
        try:
            import psycopg
        except ImportError:
            raise ConfigError("a database URL needs: pip install 'ragstream[postgres]'") from None
        try:
            if self._conn is None:
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=15)
                self._conn.execute(SCHEMA)
            cursor = self._conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
        except psycopg.Error as exc:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            raise StoreError(f"the PostgreSQL database: web sessions ({first_line(exc)})") from None

    def issue(self, user: str) -> tuple[str, Session]:
        """A new session for `user` and the cookie value that carries it."""
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(_digest(sid), user, now + self.lifetime_s)
        with self._lock:
            # Ended sessions go when a new one starts: the table stays the size of its use.
            self._run("DELETE FROM web_sessions WHERE expires_at < %s", (now,))
            self._run(
                "INSERT INTO web_sessions (sid_sha256, user_name, expires_at) VALUES (%s, %s, %s)",
                (session.id, user, session.expires),
            )
        return sid, session

    def verify(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or None if unknown, expired or revoked."""
        if not cookie or len(cookie) > _MAX_COOKIE:
            return None
        digest, now = _digest(cookie), self._clock()
        with self._lock:
            seen = self._seen.get(digest)
            if seen is not None and now - seen[1] < self._recheck_s:
                return seen[0] if seen[0].expires > now else None
            rows = self._run(
                "SELECT user_name, expires_at FROM web_sessions "
                "WHERE sid_sha256 = %s AND revoked_at IS NULL",
                (digest,),
            )
            if not rows or rows[0][1] <= now:
                self._seen.pop(digest, None)
                return None
            session = Session(digest, str(rows[0][0]), float(rows[0][1]))
            self._seen = {d: s for d, s in self._seen.items() if now - s[1] < self._recheck_s}
            self._seen[digest] = (session, now)
            return session

    def revoke(self, session: Session) -> None:
        """End this session on every replica (its id is the cookie's digest)."""
        with self._lock:
            self._seen.pop(session.id, None)
            self._run(
                "UPDATE web_sessions SET revoked_at = %s WHERE sid_sha256 = %s",
                (self._clock(), session.id),
            )
