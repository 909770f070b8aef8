"""The sidebar's "Manage collections": collections, members and roles, and the audit log.

Shown to admins and to owners of at least one collection, with what the CLI's
`ragstream collection` and `audit` commands allow them: every change is one call on
`workspace.accounts` with the signed-in identity, so ragstream.access decides here
exactly as it does for the CLI and the API (an owner grants on their own collections;
only an admin creates collections or reads the audit log). Changes run in button
callbacks, before the next script run draws the picker, so the picker and everyone's
next request see them at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

from ragstream.access import Identity
from ragstream.accounts import Accounts
from ragstream.app.access import ALL, PageAccess
from ragstream.app.components import html_table
from ragstream.errors import RagstreamError
from ragstream.index.access_tables import ROLES
from ragstream.models import Membership
from ragstream.workspace import Workspace

NOTE = "admin_note"  # (ok, text) of the last change, shown once
AUDIT_ROWS = 50


def admin_panel(workspace: Workspace, access: PageAccess) -> None:
    accounts = workspace.accounts
    user = access.user
    manageable = accounts.permitted(user, "manage")
    if not access.admin and not manageable:
        return  # viewers and editors: no admin view at all
    found = accounts.collections(user)
    if manageable is not None:
        found = [c for c in found if c.name in manageable]
    members = _members(accounts, user, [c.name for c in found], access.admin)
    with st.sidebar.expander("Manage collections", expanded=False):
        note = st.session_state.pop(NOTE, None)
        if note:
            (st.success if note[0] else st.error)(note[1])
        rows = [
            {
                "Collection": c.name,
                "Documents": c.documents,
                "Chunks": c.chunks,
                "Members": ", ".join(_member(m) for m in members if m.collection == c.name) or "–",
            }
            for c in found
        ]
        if rows:
            st.html(html_table(rows))
        names = [c.name for c in found]
        if names:
            _member_controls(accounts, user, names, members)
            _collection_controls(accounts, user, names)
        if access.admin:
            st.text_input("New collection", key="admin_new", placeholder="e.g. handbook")
            st.button("Create", key="admin_create", on_click=_create, args=(accounts, user))
    if access.admin:
        _audit(accounts, user)


def _members(
    accounts: Accounts, user: Identity | None, names: list[str], admin: bool
) -> list[Membership]:
    if admin:
        return accounts.members(by=user)
    return [m for name in names for m in accounts.members(name, by=user)]


def _member(m: Membership) -> str:
    kind, _, name = m.principal.partition(":")
    return f"{name if kind == 'user' else m.principal} ({m.role})"


def _member_controls(
    accounts: Accounts, user: Identity | None, names: list[str], members: list[Membership]
) -> None:
    chosen = st.selectbox("Collection to manage", names, key="admin_collection")
    st.text_input("Member", key="admin_member", placeholder="a user, or group:NAME")
    st.selectbox("Role", ROLES, key="admin_role")
    st.button("Grant or change role", key="admin_grant", on_click=_grant, args=(accounts, user))
    current = [m.principal for m in members if m.collection == chosen]
    st.selectbox(
        "Member to remove", current, key="admin_revoke_member", index=None, placeholder="–"
    )
    st.button("Revoke", key="admin_revoke", on_click=_revoke, args=(accounts, user))


def _collection_controls(accounts: Accounts, user: Identity | None, names: list[str]) -> None:
    st.text_input("Rename it to", key="admin_rename_to")
    st.button("Rename", key="admin_rename", on_click=_rename, args=(accounts, user))
    st.checkbox("Yes, delete it with all its documents", key="admin_delete_confirm")
    st.button("Delete collection", key="admin_delete", on_click=_delete, args=(accounts, user))


def _audit(accounts: Accounts, user: Identity | None) -> None:
    with st.sidebar.expander("Audit log", expanded=False):
        # read (and drawn) on request only: not a query on every run of the page
        if not st.toggle(f"Show the newest {AUDIT_ROWS} entries", key="admin_audit"):
            return
        entries = accounts.audit_log(AUDIT_ROWS, by=user)
        if not entries:
            st.caption("Nothing recorded yet.")
            return
        rows = [
            {
                "When": dt.datetime.fromtimestamp(e.at).strftime("%m-%d %H:%M:%S"),
                "Who": e.actor,
                "Did": e.action,
                "What": e.target,
                "Detail": e.detail,
            }
            for e in reversed(entries)  # newest first
        ]
        st.html(html_table(rows))


# --- the changes (button callbacks: they run before the next script run) -----------------
def _field(key: str) -> str:
    return str(st.session_state.get(key) or "").strip()


def _done(text: str) -> None:
    st.session_state[NOTE] = (True, text)


def _run(change: str, action: Callable[[], object]) -> bool:
    """Call `action`; a refusal or bad input becomes the panel's one-line error."""
    try:
        action()
    except RagstreamError as exc:
        st.session_state[NOTE] = (False, f"{change}: {exc}")
        return False
    return True


def _grant(accounts: Accounts, user: Identity | None) -> None:
    collection, member, role = (
        _field("admin_collection"),
        _field("admin_member"),
        _field("admin_role"),
    )
    if not member:
        st.session_state[NOTE] = (False, "Grant: type a user name or group:NAME first")
        return
    if _run("Grant", lambda: accounts.grant(collection, member, role, by=user)):
        _done(f"{member} is now {role} of {collection}")
        st.session_state["admin_member"] = ""


def _revoke(accounts: Accounts, user: Identity | None) -> None:
    collection, member = _field("admin_collection"), _field("admin_revoke_member")
    if not member:
        st.session_state[NOTE] = (False, "Revoke: choose a member first")
        return
    if _run("Revoke", lambda: accounts.revoke(collection, member, by=user)):
        _done(f"{member} is no longer a member of {collection}")


def _rename(accounts: Accounts, user: Identity | None) -> None:
    old, new = _field("admin_collection"), _field("admin_rename_to")
    if not new:
        st.session_state[NOTE] = (False, "Rename: type the new name first")
        return
    if _run("Rename", lambda: accounts.rename_collection(old, new, by=user)):
        _done(f"renamed collection {old} to {new}")
        _follow(old, new)
        st.session_state["admin_collection"] = new
        st.session_state["admin_rename_to"] = ""


def _delete(accounts: Accounts, user: Identity | None) -> None:
    name = _field("admin_collection")
    if not st.session_state.get("admin_delete_confirm"):
        st.session_state[NOTE] = (False, f"Delete: tick the box to delete {name} first")
        return
    removed: list[int] = []
    if _run("Delete", lambda: removed.append(accounts.delete_collection(name, by=user))):
        _done(f"deleted collection {name} ({removed[0]} documents removed)")
        _follow(name, None)
        st.session_state.pop("admin_collection", None)
    st.session_state["admin_delete_confirm"] = False


def _create(accounts: Accounts, user: Identity | None) -> None:
    name = _field("admin_new")
    if _run("Create", lambda: accounts.create_collection(name, by=user)):
        _done(f"created collection {name}")
        st.session_state["admin_new"] = ""


def _follow(old: str, new: str | None) -> None:
    """The picker follows a renamed collection, and falls back to all for a deleted one."""
    if st.session_state.get("collection") == old:
        st.session_state["collection"] = new or ALL
