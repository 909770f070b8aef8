"""Who may do what on which collection: the one rule every door (CLI, page, API) uses.

Pure: it decides from an `Identity` and that identity's memberships, read from the store
by the caller at each request (so a role change applies at the next call). Roles are
ordered, each including the ones before it:

    viewer  search and ask (read)
    editor  + upload and remove documents (write)
    owner   + grant and revoke members, rename and delete the collection (manage)

A global admin may do everything everywhere, and creates collections and users. `None`
as the identity is the trusted local CLI, which acts as admin (`--as USER` checks what a
user would see). A user's groups (e.g. from an OIDC `groups` claim) are members too: the
best role of the user and their groups counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ragstream.errors import AccessDenied
from ragstream.models import Membership

Action = Literal["read", "write", "manage"]
ROLE_RANK = {"viewer": 1, "editor": 2, "owner": 3}
NEEDED: dict[Action, int] = {"read": 1, "write": 2, "manage": 3}
LOCAL = "local"  # the actor the audit log records for the trusted CLI


@dataclass(frozen=True)
class Identity:
    """A signed-in person: a local user, an OIDC subject (email) or the password admin."""

    name: str
    groups: tuple[str, ...] = ()
    admin: bool = False

    def principals(self) -> list[str]:
        """How members name this identity in the store: user:NAME and group:G."""
        return [f"user:{self.name}", *(f"group:{g}" for g in self.groups)]


def actor(identity: Identity | None) -> str:
    return LOCAL if identity is None else identity.name


def is_admin(identity: Identity | None) -> bool:
    return identity is None or identity.admin


def roles(memberships: Iterable[Membership]) -> dict[str, int]:
    """Collection -> the best role rank among the memberships."""
    best: dict[str, int] = {}
    for m in memberships:
        rank = ROLE_RANK.get(m.role, 0)
        if rank > best.get(m.collection, 0):
            best[m.collection] = rank
    return best


def allowed(
    identity: Identity | None, action: Action, memberships: Iterable[Membership]
) -> list[str] | None:
    """The collections `identity` may do `action` on; None means all (an admin)."""
    if is_admin(identity):
        return None
    return sorted(c for c, rank in roles(memberships).items() if rank >= NEEDED[action])


def may(
    identity: Identity | None, action: Action, collection: str, memberships: Iterable[Membership]
) -> bool:
    permitted = allowed(identity, action, memberships)
    return permitted is None or collection in permitted


def narrow(permitted: list[str] | None, asked: Sequence[str] | None) -> list[str] | None:
    """The collections a search runs on: what was asked for, within what is permitted.

    Asking for a collection the identity may not read is refused with the same message
    whether it exists or not, so a guess learns nothing.
    """
    if asked is None:
        return permitted
    if permitted is not None:
        refused = [c for c in asked if c not in permitted]
        if refused:
            raise AccessDenied(
                f"collection {refused[0]}: no such collection, or you may not read it "
                "(see: ragstream collection list)"
            )
    return list(dict.fromkeys(asked))


def require(
    identity: Identity | None,
    action: Action,
    collection: str,
    memberships: Iterable[Membership],
) -> None:
    if not may(identity, action, collection, memberships):
        what = {"read": "read", "write": "change documents in", "manage": "manage"}[action]
        raise AccessDenied(
            f"{actor(identity)} may not {what} collection {collection} "
            "(or it does not exist): ask an owner or an admin"
        )


def require_admin(identity: Identity | None, what: str) -> None:
    if not is_admin(identity):
        raise AccessDenied(f"{actor(identity)} may not {what}: only an admin may")
