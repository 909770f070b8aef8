"""Who the page acts as and on which collections, decided once per script run.

The identity comes from the sign-in in front of the page (the gateway's session user,
or the OIDC e-mail); an open page (no password, no OIDC) acts as the admin, as the CLI
does. Every library call of the page passes `user` and the picker's collections, so
ragstream.access decides what this person sees, exactly as for the CLI and the API.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ragstream.access import Identity
from ragstream.accounts import PASSWORD_ADMIN
from ragstream.app import auth, conversations
from ragstream.config import Settings
from ragstream.ingest.pipeline import DEFAULT_COLLECTION
from ragstream.workspace import Workspace

ALL = "All collections"
OLD_PASSWORD_USER = "user"  # the shared password's session name before accounts came


@dataclass(frozen=True)
class PageAccess:
    user: Identity | None  # None: the open page, an admin
    collection: str | None  # the picker's choice; None: every readable collection
    may_upload: bool  # an editor of `upload_to`

    @property
    def collections(self) -> list[str] | None:
        return None if self.collection is None else [self.collection]

    @property
    def upload_to(self) -> str:
        return self.collection or DEFAULT_COLLECTION

    @property
    def admin(self) -> bool:
        return self.user is None or self.user.admin


def page_identity(workspace: Workspace, settings: Settings) -> Identity | None:
    """The signed-in person (read from the store each run: a role change applies at once)."""
    accounts = workspace.accounts
    if auth.oidc_configured():
        groups = auth.oidc_groups(settings.groups_claim)  # members too (group:NAME)
        return accounts.identity(auth.current_user() or "oidc user", groups)
    name = auth.gateway_user()
    if not settings.password or name is None:
        return None  # open: require_access has already stopped a guarded page without one
    return accounts.session_identity(name)


def page_access(workspace: Workspace, settings: Settings) -> PageAccess:
    """The identity, and the sidebar's collection picker (only what they may read)."""
    user = page_identity(workspace, settings)
    accounts = workspace.accounts
    names = [c.name for c in accounts.collections(user)]
    if user is not None:
        st.sidebar.caption(f"Signed in as **{user.name}**" + (" (admin)" if user.admin else ""))
    choice = st.sidebar.selectbox(
        "Collection",
        [ALL, *names],
        key="collection",
        help="Search, ask and add documents in this collection.",
    )
    collection = None if choice == ALL else str(choice)
    writable = accounts.permitted(user, "write")
    target = collection or DEFAULT_COLLECTION
    return PageAccess(user, collection, writable is None or target in writable)


def adopt_old_password_chats(workspace: Workspace, user: Identity | None) -> int:
    """The chats the shared-password session saved while it was called "user" are the
    admin's it is now: moved on the admin's first open (a no-op after). Not when a local
    account is named "user": that folder is then that person's."""
    if user is None or user.name != PASSWORD_ADMIN or auth.oidc_configured():
        return 0
    root = workspace.settings.workspace
    if not conversations.user_dir(root, OLD_PASSWORD_USER).is_dir():
        return 0  # the usual case, at the cost of one stat
    if workspace.store.user_secret(OLD_PASSWORD_USER) is not None:
        return 0
    return conversations.adopt_chats(root, OLD_PASSWORD_USER, PASSWORD_ADMIN)
