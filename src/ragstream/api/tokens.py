"""API tokens: shown once, stored as a SHA-256 hash beside the index.

A token reads `rst_<id>_<secret>`: the 8-hex-digit id is stored in clear so a token can
be listed and revoked by it, the 32-byte secret never is. SHA-256 (not a slow password
hash) is enough because the secret is random, not chosen by a person.

Where they live follows the index: `<workspace>/api-tokens.sqlite3` beside the SQLite
index, or the table `api_tokens` in the PostgreSQL database (created on first use), so
every app server of a scale-out deployment accepts the same tokens. `open_tokens()`
picks one from the settings.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragstream.config import Settings
from ragstream.errors import ConfigError, StoreError
from ragstream.redact import redact

PREFIX = "rst"
SCOPES = ("write", "read")  # write: everything; read: no upload or delete
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{8}})_([A-Za-z0-9_-]{{20,100}})$")
_NAME = re.compile(r"^[\w.@-]{1,64}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, scope TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, last_used_at DOUBLE PRECISION,
    revoked_at DOUBLE PRECISION)
"""


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    scope: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def tokens_file(workspace: Path) -> Path:
    return workspace / "api-tokens.sqlite3"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_tokens(settings: Settings) -> TokenStore:
    """The token store that goes with this workspace's index."""
    if settings.database_url:
        return PostgresTokenStore(settings.database_url)
    return TokenStore(tokens_file(settings.workspace))


class TokenStore:
    """Create, list, revoke and check tokens (SQLite file); safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._lock = threading.Lock()
        self._conn: Any = None

    def _exists(self) -> bool:
        return self.path.exists()  # never create the file just to answer "no"

    def _connect(self) -> Any:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{self.path}: cannot open the token file ({exc})") from None
        return conn

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement, under the caller's lock; rows (empty for writes)."""
        if self._conn is None:
            self._conn = self._connect()
        try:
            cursor = self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.where}: tokens ({exc})") from None
        return list(cursor.fetchall()) if cursor.description else []

    def create(self, name: str, scope: str = "write") -> tuple[str, TokenRecord]:
        """A new token (returned once, in clear) and its record."""
        if not _NAME.match(name):
            raise ConfigError(f"token name {name!r}: use 1-64 letters, digits, . _ @ -")
        if scope not in SCOPES:
            raise ConfigError(f"token scope {scope!r} is not one of {', '.join(SCOPES)}")
        with self._lock:
            while True:
                token_id = secrets.token_hex(4)
                if not self._run("SELECT 1 FROM api_tokens WHERE id = ?", (token_id,)):
                    break
            token = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
            now = time.time()
            self._run(
                "INSERT INTO api_tokens (id, name, sha256, scope, created_at) VALUES (?, ?, ?, ?, ?)",
                (token_id, name, _digest(token), scope, now),
            )
        return token, TokenRecord(token_id, name, scope, now, None, None)

    def records(self) -> list[TokenRecord]:
        if not self._exists():
            return []
        with self._lock:
            rows = self._run(
                "SELECT id, name, scope, created_at, last_used_at, revoked_at FROM api_tokens "
                "ORDER BY created_at"
            )
            return [TokenRecord(*row) for row in rows]

    def revoke(self, id_or_name: str) -> list[TokenRecord]:
        """Revoke the token with this id, or every active token with this name."""
        if not self._exists():
            return []
        with self._lock:
            rows = self._run(
                "SELECT id FROM api_tokens WHERE revoked_at IS NULL AND (id = ? OR name = ?)",
                (id_or_name, id_or_name),
            )
            now = time.time()
            for (token_id,) in rows:
                self._run("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (now, token_id))
        return [r for r in self.records() if r.id in {row[0] for row in rows}]

    def has_active(self) -> bool:
        if not self._exists():
            return False
        with self._lock:
            return bool(self._run("SELECT 1 FROM api_tokens WHERE revoked_at IS NULL LIMIT 1"))

    def verify(self, token: str) -> TokenRecord | None:
        """The active token's record, or None (malformed, unknown, wrong or revoked)."""
        match = _TOKEN.match(token)
        if match is None or not self._exists():
            return None
        with self._lock:
            rows = self._run(
                "SELECT id, name, scope, created_at, last_used_at, revoked_at, sha256 "
                "FROM api_tokens WHERE id = ?",
                (match.group(1),),
            )
            row = rows[0] if rows else None
            if row is None or row[5] is not None:
                return None
            if not hmac.compare_digest(row[6], _digest(token)):
                return None
            now = time.time()
            if row[4] is None or now - row[4] > 60:  # last use, to the minute: few writes
                self._run("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row[0]))
            return TokenRecord(*row[:6])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresTokenStore(TokenStore):
    """The same tokens in the index's PostgreSQL database (table api_tokens)."""

    def __init__(self, url: str) -> None:
        super().__init__(Path("api_tokens"))
        self.url = url
        self.where = "the PostgreSQL database"

    def _exists(self) -> bool:
        return True

    def _connect(self) -> Any:
        try:
            import psycopg

            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=15)
            conn.execute(SCHEMA)
        except ImportError:
            raise ConfigError("a database URL needs: pip install 'ragstream[postgres]'") from None
        except Exception as exc:  # psycopg.Error; the URL may carry a password: redact
            raise StoreError(f"{self.where}: token table ({redact(str(exc))})") from None
        return conn

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        if self._conn is None:
            self._conn = self._connect()
        try:
            cursor = self._conn.execute(sql.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []
        except psycopg.Error as exc:
            self.close_unlocked()  # a dead connection is re-opened by the next call
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"{self.where}: tokens ({redact(first)})") from None

    def close_unlocked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
