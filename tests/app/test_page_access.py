"""The page per signed-in user (AppTest on the real script and a real workspace): the
collection picker offers only what the user may read, answers and the documents table
never show another collection's planted secret, and only an editor gets an uploader,
whose files land in the chosen collection."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.app import auth
from ragstream.workspace import Workspace
from tests.app.page_helpers import ask, documents, page, texts, upload

PASSWORD = "correct horse"
SECRET = "ZORBLAX-4417"
QUESTION = "What is the chief executive salary in crowns a year?"


@pytest.fixture
def shared(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hr (the secret; bob edits it) and default (alice and bob read it)."""
    monkeypatch.setenv("RAGSTREAM_PASSWORD", PASSWORD)
    for folder, text in (
        ("hr", f"The chief executive salary is {SECRET} crowns a year."),
        ("pub", "The canteen serves soup at noon; salary day is the first of the month."),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder}.txt").write_text(text, encoding="utf-8")
    with Workspace.open(workspace=env, password=PASSWORD) as ws:
        ws.accounts.create_collection("hr")
        ws.ingest([tmp_path / "hr"], collection="hr")
        ws.ingest([tmp_path / "pub"])
        ws.accounts.grant("default", "alice", "viewer")
        ws.accounts.grant("default", "bob", "viewer")
        ws.accounts.grant("hr", "bob", "editor")
    return env


def as_user(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(auth, "gateway_user", lambda: name)


def test_a_viewer_sees_only_their_collections_and_cannot_upload(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user(monkeypatch, "alice")
    at = page()
    assert not at.exception and not at.error
    assert at.sidebar.selectbox[0].options == ["All collections", "default"]
    assert len(at.sidebar.file_uploader) == 0 and "not add documents" in texts(at)
    assert [row[0] for row in documents(at)] == ["pub.txt"]
    answered = ask(at, QUESTION)
    assert not answered.error and SECRET not in texts(answered)
    assert "hr.txt" not in texts(answered)


def test_an_editor_uploads_into_the_chosen_collection_and_finds_it(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user(monkeypatch, "bob")
    at = page()
    assert at.sidebar.selectbox[0].options == ["All collections", "default", "hr"]
    assert len(at.sidebar.file_uploader) == 0  # All -> default, where bob only reads
    at.sidebar.selectbox[0].select("hr")
    at = at.run()
    assert len(at.sidebar.file_uploader) == 1
    assert [row[0] for row in documents(at)] == ["hr.txt"]
    at = upload(at, "memo.md", b"# Memo\n\nThe hr memo says hello.\n")
    assert "memo.md** ingested" in texts(at)
    with Workspace.open(workspace=shared) as ws:
        found = {d.path.rsplit("/", 1)[-1]: d.collection for d in ws.documents()}
    assert found["memo.md"] == "hr"
    answered = ask(at, QUESTION)
    assert SECRET in texts(answered)  # bob reads hr: the same question reaches it


def test_the_shared_password_session_is_the_admin(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user(monkeypatch, "admin")
    at = page()
    assert "Signed in as **admin** (admin)" in texts(at)
    assert at.sidebar.selectbox[0].options == ["All collections", "default", "hr"]
    assert len(at.sidebar.file_uploader) == 1
    assert sorted(row[0] for row in documents(at)) == ["hr.txt", "pub.txt"]
