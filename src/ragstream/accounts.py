"""Accounts: sign-in, identities, collections, members and the audit log of one store.

The doors (CLI, page, API) call these with the signed-in `Identity` (None: the trusted
local CLI, an admin); every rule comes from ragstream.access, and memberships are read
from the store on every call, so a grant or revoke applies at the next request.

    accounts = workspace.accounts
    me = accounts.login("alice", password)            # local account, or None
    me = accounts.identity("bob@example.com", groups=("devs",))   # after an OIDC login
    accounts.grant("handbook", "group:devs", "viewer", by=admin)
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from ragstream.access import (
    Action,
    Identity,
    actor,
    allowed,
    narrow,
    require,
    require_admin,
)
from ragstream.errors import AccessDenied, ConfigError
from ragstream.index.store import Store
from ragstream.models import AuditEntry, CollectionInfo, Membership, UserRecord
from ragstream.passwords import check_strength, hash_password, verify_password

PASSWORD_ADMIN = "admin"  # the identity RAGSTREAM_PASSWORD signs in as


class Accounts:
    def __init__(self, store: Store, admin_password: str | None = None) -> None:
        self.store = store
        self._admin_password = admin_password

    # --- who is asking ----------------------------------------------------------------
    def login(self, name: str | None, password: str) -> Identity | None:
        """The identity these credentials prove, or None. A local account is checked
        first; with no name (or "admin" when no such account exists) the single
        RAGSTREAM_PASSWORD signs in as the admin."""
        if name:
            secret = self.store.user_secret(name)
            if secret is not None:
                ok = verify_password(password, secret[0])
                return Identity(name, admin=secret[1]) if ok else None
            if name != PASSWORD_ADMIN:
                verify_password(password, _DUMMY_HASH)  # same time as a real user's check
                return None
        expected = self._admin_password
        if expected and hmac.compare_digest(password.encode(), expected.encode()):
            return Identity(PASSWORD_ADMIN, admin=True)
        return None

    def identity(self, name: str, groups: Sequence[str] = ()) -> Identity:
        """The identity of someone signed in elsewhere (OIDC email/sub and its groups
        claim): an admin when a local account of that name is marked admin."""
        secret = self.store.user_secret(name)
        return Identity(name, tuple(groups), admin=bool(secret and secret[1]))

    def session_identity(self, name: str) -> Identity:
        """The identity of a session `login` started, by the name it carries: the password
        admin's name is the admin unless a local account holds that name."""
        if name == PASSWORD_ADMIN and self.store.user_secret(name) is None:
            return Identity(PASSWORD_ADMIN, admin=True)
        return self.identity(name)

    def permitted(self, user: Identity | None, action: Action) -> list[str] | None:
        """The collections `user` may do `action` on (None: all, for an admin)."""
        if user is None or user.admin:
            return None
        return allowed(user, action, self.store.memberships_of(user.principals()))

    def readable(
        self, user: Identity | None, asked: Sequence[str] | None = None
    ) -> list[str] | None:
        """What a search by `user` runs on: the collections asked for (None: all) that it
        may read; asking for one it may not read (or that does not exist) is refused."""
        if asked is not None:
            missing = [c for c in asked if not self.store.collection_exists(c)]
            if missing and (user is None or user.admin):
                raise AccessDenied(f"no collection {missing[0]} (see: ragstream collection list)")
        return narrow(self.permitted(user, "read"), asked)

    def scoped(self, user: Identity | None, scope: Sequence[str] | None) -> list[str] | None:
        """What `user` may read within `scope` (e.g. an API token limited to some
        collections), without an error for scope entries they lost since: None = all."""
        permitted = self.permitted(user, "read")
        if scope is None:
            return permitted
        return [c for c in dict.fromkeys(scope) if permitted is None or c in permitted]

    def require(self, user: Identity | None, action: Action, collection: str) -> None:
        if user is not None and not user.admin:
            require(user, action, collection, self.store.memberships_of(user.principals()))
        if not self.store.collection_exists(collection):
            raise AccessDenied(
                f"no collection {collection}: create it with "
                f"'ragstream collection create {collection}'"
            )

    # --- collections --------------------------------------------------------------------
    def collections(self, user: Identity | None = None) -> list[CollectionInfo]:
        """The collections `user` may read, with their sizes."""
        permitted = self.permitted(user, "read")
        found = self.store.collections()
        return found if permitted is None else [c for c in found if c.name in permitted]

    def create_collection(self, name: str, by: Identity | None = None) -> None:
        require_admin(by, "create collections")
        self.store.create_collection(name, actor=actor(by))

    def rename_collection(self, old: str, new: str, by: Identity | None = None) -> None:
        self.require(by, "manage", old)
        self.store.rename_collection(old, new, actor=actor(by))

    def delete_collection(self, name: str, by: Identity | None = None) -> int:
        """Delete it with its documents, chunks and vectors; returns the documents removed."""
        self.require(by, "manage", name)
        return self.store.delete_collection(name, actor=actor(by))

    def grant(self, collection: str, member: str, role: str, by: Identity | None = None) -> None:
        self.require(by, "manage", collection)
        self.store.grant(collection, member, role, actor=actor(by))

    def revoke(self, collection: str, member: str, by: Identity | None = None) -> bool:
        self.require(by, "manage", collection)
        return self.store.revoke(collection, member, actor=actor(by))

    def members(
        self, collection: str | None = None, by: Identity | None = None
    ) -> list[Membership]:
        """Members of one collection (owners and admins), or of all (admins)."""
        if collection is None:
            require_admin(by, "list every membership")
        else:
            self.require(by, "manage", collection)
        return self.store.members(collection)

    # --- users ----------------------------------------------------------------------------
    def add_user(
        self, name: str, password: str, admin: bool = False, by: Identity | None = None
    ) -> None:
        require_admin(by, "add users")
        weak = check_strength(password)
        if weak:
            raise ConfigError(f"user {name}: {weak}")
        self.store.add_user(name, hash_password(password), admin, actor=actor(by))

    def set_password(self, name: str, password: str, by: Identity | None = None) -> None:
        if by is not None and by.name != name:
            require_admin(by, f"change the password of {name}")
        weak = check_strength(password)
        if weak:
            raise ConfigError(f"user {name}: {weak}")
        if not self.store.set_password(name, hash_password(password), actor=actor(by)):
            raise AccessDenied(f"no user {name} (see: ragstream user list)")

    def remove_user(self, name: str, by: Identity | None = None) -> bool:
        require_admin(by, "remove users")
        return self.store.remove_user(name, actor=actor(by))

    def users(self, by: Identity | None = None) -> list[UserRecord]:
        require_admin(by, "list users")
        return self.store.users()

    # --- audit ----------------------------------------------------------------------------
    def audit_log(self, limit: int = 100, by: Identity | None = None) -> list[AuditEntry]:
        require_admin(by, "read the audit log")
        return self.store.audit_log(limit)


# A valid hash of a random password: unknown names cost one scrypt too (no timing oracle).
_DUMMY_HASH = "scrypt$15$8$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="
