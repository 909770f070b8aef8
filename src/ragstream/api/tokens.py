"""API tokens: shown once, stored as a SHA-256 hash beside the index.

A token reads `rst_<id>_<secret>`: the 8-hex-digit id is stored in clear so a token can
be listed and revoked by it, the 32-byte secret never is. SHA-256 (not a slow password
hash) is enough because the secret is random, not chosen by a person.

Where they live follows the index: `<workspace>/api-tokens.sqlite3` beside the SQLite
index, or the table `api_tokens` in the PostgreSQL database (created on first use), so
every app server of a scale-out deployment accepts the same tokens. `open_tokens()`
picks one from the settings.

A token may belong to a user (`user_name`; NULL: it acts as the admin, as tokens made
before users existed do) and be limited to some collections (`collections`, JSON; NULL:
all the user may read). Both columns are added to an older table when it is opened.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragstream.config import Settings
from ragstream.errors import ConfigError, StoreError
from ragstream.redact import first_line, redact

PREFIX = "rst"
SCOPES = ("write", "read")  # write: everything; read: no upload or delete
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{8}})_([A-Za-z0-9_-]{{20,100}})$")
_NAME = re.compile(r"^[\w.@-]{1,64}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, scope TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, last_used_at DOUBLE PRECISION,
    revoked_at DOUBLE PRECISION, user_name TEXT, collections TEXT)
"""
ADDED_COLUMNS = ("user_name", "collections")  # since issue 21: a token's user and scope
_COLUMNS = "id, name, scope, created_at, last_used_at, revoked_at, user_name, collections"


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    scope: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None
    user: str | None = None  # None: the token acts as the admin
    collections: tuple[str, ...] | None = None  # None: every collection the user may read

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> TokenRecord:
        """A record from a row of _COLUMNS."""
        scope = None if row[7] is None else tuple(json.loads(row[7]))
        return cls(row[0], row[1], row[2], row[3], row[4], row[5], row[6], scope)


def tokens_file(workspace: Path) -> Path:
    return workspace / "api-tokens.sqlite3"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _scope_json(collections: Sequence[str] | None) -> str | None:
    return None if collections is None else json.dumps(list(collections))


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
            have = {row[1] for row in conn.execute("PRAGMA table_info(api_tokens)")}
            for column in ADDED_COLUMNS:
                if column not in have:  # a table made before tokens had users
                    conn.execute(f"ALTER TABLE api_tokens ADD COLUMN {column} TEXT")
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

    def create(
        self,
        name: str,
        scope: str = "write",
        user: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new token (returned once, in clear) and its record; `user` None acts as the
        admin, `collections` None may read whatever the user may."""
        if not _NAME.match(name):
            raise ConfigError(f"token name {name!r}: use 1-64 letters, digits, . _ @ -")
        if scope not in SCOPES:
            raise ConfigError(f"token scope {scope!r} is not one of {', '.join(SCOPES)}")
        if user is not None and not user.strip():
            raise ConfigError("token --user: give the user name the token acts as")
        wanted = None if collections is None else tuple(dict.fromkeys(collections))
        with self._lock:
            while True:
                token_id = secrets.token_hex(4)
                if not self._run("SELECT 1 FROM api_tokens WHERE id = ?", (token_id,)):
                    break
            token = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
            now = time.time()
            self._run(
                "INSERT INTO api_tokens (id, name, sha256, scope, created_at, user_name, "
                "collections) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, name, _digest(token), scope, now, user, _scope_json(wanted)),
            )
        return token, TokenRecord(token_id, name, scope, now, None, None, user, wanted)

    def records(self) -> list[TokenRecord]:
        if not self._exists():
            return []
        with self._lock:
            rows = self._run(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY created_at")
            return [TokenRecord.of(row) for row in rows]

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
                f"SELECT {_COLUMNS}, sha256 FROM api_tokens WHERE id = ?", (match.group(1),)
            )
            row = rows[0] if rows else None
            if row is None or row[5] is not None:
                return None
            if not hmac.compare_digest(row[8], _digest(token)):
                return None
            now = time.time()
            if row[4] is None or now - row[4] > 60:  # last use, to the minute: few writes
                self._run("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row[0]))
            return TokenRecord.of(row[:8])

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
            for column in ADDED_COLUMNS:  # a table made before tokens had users
                conn.execute(f"ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS {column} TEXT")
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
            raise StoreError(f"{self.where}: tokens ({first_line(exc)})") from None

    def close_unlocked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
