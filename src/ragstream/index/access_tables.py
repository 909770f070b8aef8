"""Collections, members, users and the audit log: the same SQL on both stores.

Who may see what is data in the store, next to the chunks, so every door (CLI, page,
API) reads one truth and the search query itself filters by collection. The tables:

    collections (name, created_at)                    `default` always exists
    members     (collection, principal, role)         principal = user:NAME | group:NAME
    users       (name, password_hash, admin, created_at)
    audit       (id, at, actor, action, target, detail)  append-only (triggers refuse
                                                      UPDATE and DELETE)

The statements here use `?` placeholders; the PostgreSQL store turns them into `%s`.
Each store supplies `_access_read` and `_access_write` (one transaction) and its own
`delete_collection` (which must also drop chunks, vectors and, on PostgreSQL, postings).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from ragstream.errors import AccessDenied, ConfigError
from ragstream.models import AuditEntry, CollectionInfo, Membership, UserRecord

DEFAULT_COLLECTION = "default"
ROLES = ("viewer", "editor", "owner")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")

Step = tuple[str, tuple[object, ...]]


def check_name(kind: str, name: str) -> str:
    """Collection, user and group names: letters, digits and _.@+- (emails fit)."""
    if not _NAME.match(name):
        raise ConfigError(
            f"{kind} name {name!r} is not allowed: use 1-128 letters, digits or _.@+- "
            "(starting with a letter or digit)"
        )
    return name


def principal(member: str) -> str:
    """`alice` -> user:alice, `group:devs` -> group:devs (names checked)."""
    kind, _, name = member.rpartition(":")
    kind = kind or "user"
    if kind not in ("user", "group"):
        raise ConfigError(f"member {member!r}: write USER or group:NAME")
    return f"{kind}:{check_name(kind, name)}"


def audit_step(actor: str, action: str, target: str, detail: str = "") -> Step:
    return (
        "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (time.time(), actor, action, target, detail),
    )


class AccessTables:
    """Mixed into each store; see the module docstring."""

    # (table, column) naming a collection: what a rename rewrites
    COLLECTION_COLUMNS: tuple[tuple[str, str], ...] = (
        ("collections", "name"),
        ("documents", "collection"),
        ("chunks", "collection"),
        ("members", "collection"),
    )

    def _access_read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
        raise NotImplementedError

    def _access_write(self, steps: Sequence[Step], action: str) -> list[int]:
        """Run the steps in one transaction; the row count of each."""
        raise NotImplementedError

    # --- collections ------------------------------------------------------------------
    def collections(self) -> list[CollectionInfo]:
        rows = self._access_read(
            "SELECT c.name, count(d.path), coalesce(sum(d.n_chunks), 0) FROM collections c "
            "LEFT JOIN documents d ON d.collection = c.name GROUP BY c.name ORDER BY c.name"
        )
        return [CollectionInfo(name, int(docs), int(chunks)) for name, docs, chunks in rows]

    def collection_exists(self, name: str) -> bool:
        return bool(self._access_read("SELECT 1 FROM collections WHERE name = ?", (name,)))

    def create_collection(self, name: str, actor: str = "local") -> None:
        check_name("collection", name)
        if self.collection_exists(name):
            raise ConfigError(f"collection {name} already exists (see: ragstream collection list)")
        self._access_write(
            [
                ("INSERT INTO collections (name, created_at) VALUES (?, ?)", (name, time.time())),
                audit_step(actor, "collection.create", name),
            ],
            f"creating collection {name}",
        )

    def rename_collection(self, old: str, new: str, actor: str = "local") -> None:
        """Rewrites the collection column of its documents and chunks (no re-embedding)."""
        check_name("collection", new)
        self._check_changeable(old)
        if self.collection_exists(new):
            raise ConfigError(f"collection {new} already exists: pick another name")
        steps: list[Step] = [
            (f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new, old))
            for table, column in self.COLLECTION_COLUMNS
        ]
        self._access_write(
            [*steps, audit_step(actor, "collection.rename", old, f"to {new}")],
            f"renaming collection {old}",
        )

    def _check_changeable(self, name: str) -> None:
        if name == DEFAULT_COLLECTION:
            raise ConfigError(
                "the default collection holds what is ingested without --collection: "
                "it cannot be renamed or deleted (remove its documents instead)"
            )
        if not self.collection_exists(name):
            raise AccessDenied(f"no collection {name} (see: ragstream collection list)")

    def _collection_dropped(self, name: str, actor: str, paths: int) -> list[Step]:
        """The access part of deleting a collection, run in the store's transaction."""
        return [
            ("DELETE FROM members WHERE collection = ?", (name,)),
            ("DELETE FROM collections WHERE name = ?", (name,)),
            audit_step(actor, "collection.delete", name, f"{paths} documents removed"),
        ]

    # --- members ----------------------------------------------------------------------
    def grant(self, collection: str, member: str, role: str, actor: str = "local") -> None:
        who = principal(member)
        if role not in ROLES:
            raise ConfigError(f"role {role!r}: use one of {', '.join(ROLES)}")
        if not self.collection_exists(collection):
            raise AccessDenied(f"no collection {collection} (see: ragstream collection list)")
        self._access_write(
            [
                (
                    "INSERT INTO members (collection, principal, role) VALUES (?, ?, ?) "
                    "ON CONFLICT (collection, principal) DO UPDATE SET role = excluded.role",
                    (collection, who, role),
                ),
                audit_step(actor, "grant", collection, f"{who} {role}"),
            ],
            f"granting {role} on {collection}",
        )

    def revoke(self, collection: str, member: str, actor: str = "local") -> bool:
        who = principal(member)
        counts = self._access_write(
            [
                ("DELETE FROM members WHERE collection = ? AND principal = ?", (collection, who)),
                audit_step(actor, "revoke", collection, who),
            ],
            f"revoking {who} on {collection}",
        )
        return counts[0] > 0

    def members(self, collection: str | None = None) -> list[Membership]:
        sql = "SELECT collection, principal, role FROM members"
        params: tuple[object, ...] = ()
        if collection is not None:
            sql, params = sql + " WHERE collection = ?", (collection,)
        return [Membership(*row) for row in self._access_read(sql + " ORDER BY 1, 2", params)]

    def memberships_of(self, principals: Sequence[str]) -> list[Membership]:
        """The memberships of any of these principals (a user and their groups)."""
        if not principals:
            return []
        marks = ",".join("?" * len(principals))
        rows = self._access_read(
            f"SELECT collection, principal, role FROM members WHERE principal IN ({marks})",
            tuple(principals),
        )
        return [Membership(*row) for row in rows]

    # --- users ------------------------------------------------------------------------
    def add_user(
        self, name: str, password_hash: str, admin: bool = False, actor: str = "local"
    ) -> None:
        check_name("user", name)
        if self._access_read("SELECT 1 FROM users WHERE name = ?", (name,)):
            raise ConfigError(f"user {name} already exists (ragstream user passwd {name})")
        self._access_write(
            [
                (
                    "INSERT INTO users (name, password_hash, admin, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (name, password_hash, bool(admin), time.time()),
                ),
                audit_step(actor, "user.add", name, "admin" if admin else ""),
            ],
            f"adding user {name}",
        )

    def set_password(self, name: str, password_hash: str, actor: str = "local") -> bool:
        counts = self._access_write(
            [
                ("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)),
                audit_step(actor, "user.password", name),
            ],
            f"setting the password of {name}",
        )
        return counts[0] > 0

    def remove_user(self, name: str, actor: str = "local") -> bool:
        counts = self._access_write(
            [
                ("DELETE FROM users WHERE name = ?", (name,)),
                ("DELETE FROM members WHERE principal = ?", (f"user:{name}",)),
                audit_step(actor, "user.remove", name),
            ],
            f"removing user {name}",
        )
        return counts[0] > 0

    def users(self) -> list[UserRecord]:
        rows = self._access_read("SELECT name, admin, created_at FROM users ORDER BY name")
        return [UserRecord(name, bool(admin), float(at)) for name, admin, at in rows]

    def user_secret(self, name: str) -> tuple[str, bool] | None:
        """(password hash, admin) of a local user, or None."""
        rows = self._access_read("SELECT password_hash, admin FROM users WHERE name = ?", (name,))
        return (rows[0][0], bool(rows[0][1])) if rows else None

    # --- audit ------------------------------------------------------------------------
    def append_audit(
        self, actor: str, action: str, targets: str | Sequence[str], detail: str = ""
    ) -> None:
        """One entry per target, in one transaction."""
        names = [targets] if isinstance(targets, str) else list(targets)
        steps = [audit_step(actor, action, target, detail) for target in names]
        self._access_write(steps, "writing the audit log")

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The newest `limit` entries, oldest first."""
        rows = self._access_read(
            "SELECT at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?",
            (int(limit),),
        )
        return [AuditEntry(float(at), *rest) for at, *rest in reversed(rows)]
