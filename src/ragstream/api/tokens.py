"""API tokens: shown once, stored as a SHA-256 hash beside the index.

A token reads `rst_<id>_<secret>`: the 8-hex-digit id is stored in clear so a token can
be listed and revoked by it, the 32-byte secret never is. SHA-256 (not a slow password
hash) is enough because the secret is random, not chosen by a person. The file is
`<workspace>/api-tokens.sqlite3`, also when the index lives in PostgreSQL: the server
that checks tokens is the one with the workspace directory.
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

from ragstream.errors import ConfigError

PREFIX = "rst"
SCOPES = ("write", "read")  # write: everything; read: no upload or delete
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{8}})_([A-Za-z0-9_-]{{20,100}})$")
_NAME = re.compile(r"^[\w.@-]{1,64}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, scope TEXT NOT NULL,
    created_at REAL NOT NULL, last_used_at REAL, revoked_at REAL);
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


class TokenStore:
    """Create, list, revoke and check tokens; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                conn.executescript(SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise ConfigError(f"{self.path}: cannot open the token file ({exc})") from None
            self._conn = conn
        return self._conn

    def create(self, name: str, scope: str = "write") -> tuple[str, TokenRecord]:
        """A new token (returned once, in clear) and its record."""
        if not _NAME.match(name):
            raise ConfigError(f"token name {name!r}: use 1-64 letters, digits, . _ @ -")
        if scope not in SCOPES:
            raise ConfigError(f"token scope {scope!r} is not one of {', '.join(SCOPES)}")
        with self._lock:
            db = self._db()
            while True:
                token_id = secrets.token_hex(4)
                if not db.execute("SELECT 1 FROM tokens WHERE id = ?", (token_id,)).fetchone():
                    break
            token = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
            now = time.time()
            db.execute(
                "INSERT INTO tokens (id, name, sha256, scope, created_at) VALUES (?, ?, ?, ?, ?)",
                (token_id, name, _digest(token), scope, now),
            )
        return token, TokenRecord(token_id, name, scope, now, None, None)

    def records(self) -> list[TokenRecord]:
        with self._lock:
            rows = self._db().execute(
                "SELECT id, name, scope, created_at, last_used_at, revoked_at FROM tokens "
                "ORDER BY created_at"
            )
            return [TokenRecord(*row) for row in rows]

    def revoke(self, id_or_name: str) -> list[TokenRecord]:
        """Revoke the token with this id, or every active token with this name."""
        with self._lock:
            db = self._db()
            rows = db.execute(
                "SELECT id FROM tokens WHERE revoked_at IS NULL AND (id = ? OR name = ?)",
                (id_or_name, id_or_name),
            ).fetchall()
            now = time.time()
            for (token_id,) in rows:
                db.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (now, token_id))
        return [r for r in self.records() if r.id in {row[0] for row in rows}]

    def has_active(self) -> bool:
        if not self.path.exists():  # never create the file just to answer "no"
            return False
        with self._lock:
            row = self._db().execute("SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1")
            return row.fetchone() is not None

    def verify(self, token: str) -> TokenRecord | None:
        """The active token's record, or None (malformed, unknown, wrong or revoked)."""
        match = _TOKEN.match(token)
        if match is None or not self.path.exists():
            return None
        with self._lock:
            db = self._db()
            row = db.execute(
                "SELECT id, name, scope, created_at, last_used_at, revoked_at, sha256 "
                "FROM tokens WHERE id = ?",
                (match.group(1),),
            ).fetchone()
            if row is None or row[5] is not None:
                return None
            if not hmac.compare_digest(row[6], _digest(token)):
                return None
            now = time.time()
            if row[4] is None or now - row[4] > 60:  # last use, to the minute: few writes
                db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (now, row[0]))
            return TokenRecord(*row[:6])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
