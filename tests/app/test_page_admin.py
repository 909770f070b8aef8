"""The page's admin view (AppTest on the real script and a real workspace): an admin sees
every collection with its sizes and members, grants, changes and revokes roles, creates,
renames and deletes collections and reads the audit log; an owner manages only their
own collections; a viewer gets no admin view; each change applies at the other user's
next request."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ragstream.app import auth
from ragstream.workspace import Workspace
from tests.app.page_helpers import page, table_rows, texts

PASSWORD = "correct horse"


@pytest.fixture
def shared(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hr (bob owns it) and default (alice reads it), one document each."""
    monkeypatch.setenv("RAGSTREAM_PASSWORD", PASSWORD)
    for folder in ("hr", "pub"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder}.txt").write_text(f"The {folder} notes.", encoding="utf-8")
    with Workspace.open(workspace=env, password=PASSWORD) as ws:
        ws.accounts.create_collection("hr")
        ws.ingest([tmp_path / "hr"], collection="hr")
        ws.ingest([tmp_path / "pub"])
        ws.accounts.grant("default", "alice", "viewer")
        ws.accounts.grant("hr", "bob", "owner")
    return env


def page_as(monkeypatch: pytest.MonkeyPatch, name: str) -> AppTest:
    monkeypatch.setattr(auth, "gateway_user", lambda: name)
    return page()


def rerun_as(monkeypatch: pytest.MonkeyPatch, at: AppTest, name: str) -> AppTest:
    """The next request of `name`'s open page (two people, one process)."""
    monkeypatch.setattr(auth, "gateway_user", lambda: name)
    return at.run()


def expanders(at: AppTest) -> list[str]:
    return [e.label for e in at.sidebar.expander]


def admin_table(at: AppTest) -> dict[str, list[str]]:
    tables = [h.value for h in at.sidebar.html if "<th>Members</th>" in h.value]
    return {row[0]: row[1:] for row in table_rows(tables[0])}


def grant(at: AppTest, collection: str, member: str, role: str) -> AppTest:
    at.selectbox(key="admin_collection").select(collection)
    at.text_input(key="admin_member").input(member)
    at.selectbox(key="admin_role").select(role)
    at.button(key="admin_grant").click()
    return at.run()


def picker(at: AppTest) -> list[str]:
    return list(at.selectbox(key="collection").options)


def test_admin_sees_and_changes_members_and_the_change_applies_at_the_next_request(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = page_as(monkeypatch, "alice")
    assert picker(alice) == ["All collections", "default"]
    admin = page_as(monkeypatch, "admin")
    assert {"Manage collections", "Audit log"} <= set(expanders(admin))
    assert admin_table(admin) == {
        "default": ["1", "1", "alice (viewer)"],
        "hr": ["1", "1", "bob (owner)"],
    }
    admin = grant(admin, "hr", "alice", "editor")
    assert not admin.exception and "alice is now editor of hr" in texts(admin)
    assert admin_table(admin)["hr"][2] == "alice (editor), bob (owner)"

    alice = rerun_as(monkeypatch, alice, "alice")  # her next request: hr is hers to edit
    assert picker(alice) == ["All collections", "default", "hr"]
    alice.selectbox(key="collection").select("hr")
    alice = alice.run()
    assert len(alice.sidebar.file_uploader) == 1

    admin = rerun_as(monkeypatch, admin, "admin")
    admin = grant(admin, "hr", "alice", "viewer")  # a role change, not a second member
    assert admin_table(admin)["hr"][2] == "alice (viewer), bob (owner)"
    alice = rerun_as(monkeypatch, alice, "alice")
    assert len(alice.sidebar.file_uploader) == 0 and "not add documents" in texts(alice)

    admin = rerun_as(monkeypatch, admin, "admin")
    admin.selectbox(key="admin_collection").select("hr")
    admin = admin.run()
    admin.selectbox(key="admin_revoke_member").select("user:alice")
    admin.button(key="admin_revoke").click()
    admin = admin.run()
    assert "user:alice is no longer a member of hr" in texts(admin)
    alice = rerun_as(monkeypatch, alice, "alice")
    assert picker(alice) == ["All collections", "default"]  # her stale choice fell back

    assert not [h for h in admin.sidebar.html if "<th>Who</th>" in h.value]  # until asked
    admin.toggle(key="admin_audit").set_value(True)
    admin = rerun_as(monkeypatch, admin, "admin")
    audit = [h.value for h in admin.sidebar.html if "<th>Who</th>" in h.value]
    did = [(row[1], row[2], row[3], row[4]) for row in table_rows(audit[0])]
    assert ("admin", "grant", "hr", "user:alice editor") in did
    assert ("admin", "revoke", "hr", "user:alice") in did


def test_admin_creates_renames_and_deletes_a_collection(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = page_as(monkeypatch, "admin")
    admin.text_input(key="admin_new").input("legal")
    admin.button(key="admin_create").click()
    admin = admin.run()
    assert "created collection legal" in texts(admin)
    assert picker(admin) == ["All collections", "default", "hr", "legal"]

    admin.selectbox(key="collection").select("legal")  # the picker follows a rename
    admin.selectbox(key="admin_collection").select("legal")
    admin = admin.run()
    admin.text_input(key="admin_rename_to").input("law")
    admin.button(key="admin_rename").click()
    admin = admin.run()
    assert picker(admin) == ["All collections", "default", "hr", "law"]
    assert admin.selectbox(key="collection").value == "law"

    admin.button(key="admin_delete").click()  # not ticked: refused, nothing deleted
    admin = admin.run()
    assert "tick the box" in texts(admin) and "law" in picker(admin)
    admin.checkbox(key="admin_delete_confirm").check()
    admin.button(key="admin_delete").click()
    admin = admin.run()
    assert "deleted collection law (0 documents removed)" in texts(admin)
    assert picker(admin) == ["All collections", "default", "hr"]

    admin.selectbox(key="admin_collection").select("default")
    admin = admin.run()
    admin.checkbox(key="admin_delete_confirm").check()
    admin.button(key="admin_delete").click()
    admin = admin.run()  # the store's rule, shown as one line
    assert "Delete: the default collection" in texts(admin)
    assert not admin.exception


def test_an_owner_manages_only_their_collection_and_a_viewer_sees_no_admin_view(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = page_as(monkeypatch, "alice")
    assert "Manage collections" not in expanders(alice)
    assert "Audit log" not in expanders(alice)
    assert not [h for h in alice.sidebar.html if "<th>Members</th>" in h.value]

    bob = page_as(monkeypatch, "bob")
    assert "Manage collections" in expanders(bob) and "Audit log" not in expanders(bob)
    assert list(admin_table(bob)) == ["hr"]  # not default, which he cannot manage
    assert not any(w.key == "admin_new" for w in bob.text_input)  # only an admin creates
    bob = grant(bob, "hr", "group:devs", "viewer")
    assert "group:devs is now viewer of hr" in texts(bob)
    with Workspace.open(workspace=shared) as ws:
        assert ("hr", "group:devs", "viewer") in {
            (m.collection, m.principal, m.role) for m in ws.accounts.members("hr")
        }
