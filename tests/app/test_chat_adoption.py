"""Chats saved by the shared-password session while it was called "user" move to the
admin it signs in as now: once, on the admin's first open, never over another chat."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ragstream.app import auth, conversations
from ragstream.app.access import OLD_PASSWORD_USER
from ragstream.app.state import Message
from ragstream.workspace import Workspace
from tests.app.page_helpers import page

PASSWORD = "correct horse"
A, B, C = "a" * 32, "b" * 32, "c" * 32


def chat(question: str) -> list[Message]:
    return [Message("user", question), Message("assistant", "An answer.")]


def test_adopting_moves_each_chat_once_and_overwrites_nothing(tmp_path: Path) -> None:
    old = conversations.user_dir(tmp_path, "user")
    new = conversations.user_dir(tmp_path, "admin")
    conversations.save(old, A, chat("Only in the old folder?"))
    conversations.save(old, B, chat("Same id, other text?"))
    conversations.save(new, B, chat("The admin's own chat?"))
    conversations.save(old, C, chat("Moved before a crash?"))
    (new / f"{C}.json").hardlink_to(old / f"{C}.json")  # linked, not yet unlinked
    assert conversations.adopt_chats(tmp_path, "user", "admin") == 2
    titles = sorted(c.title for c in conversations.list_chats(new))
    assert titles == [
        "Moved before a crash?",
        "Only in the old folder?",
        "Same id, other text?",  # kept under a fresh id
        "The admin's own chat?",  # not overwritten
    ]
    assert conversations.load(new, B)[0].content == "The admin's own chat?"
    assert not old.exists()
    assert conversations.adopt_chats(tmp_path, "user", "admin") == 0  # idempotent
    assert len(conversations.list_chats(new)) == 4


@pytest.fixture
def old_chats(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAGSTREAM_PASSWORD", PASSWORD)
    conversations.save(conversations.user_dir(env, OLD_PASSWORD_USER), A, chat("Saved before?"))
    return env


def chat_titles(at: AppTest) -> list[str]:
    return [b.label for b in at.sidebar.button if b.key and b.key.startswith("chat-open-")]


def test_the_admin_finds_the_old_chats_on_the_page(
    old_chats: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "gateway_user", lambda: "admin")
    at = page()
    assert not at.exception and chat_titles(at) == ["Saved before?"]
    assert "Conversations (1)" in [e.label for e in at.sidebar.expander]
    assert chat_titles(page()) == ["Saved before?"]  # a second open: still one
    assert not conversations.user_dir(old_chats, OLD_PASSWORD_USER).exists()


def test_not_when_a_local_account_is_called_user(
    old_chats: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace.open(workspace=old_chats) as ws:
        ws.accounts.add_user(OLD_PASSWORD_USER, "a long enough password 1")
    monkeypatch.setattr(auth, "gateway_user", lambda: "admin")
    assert chat_titles(page()) == []
    monkeypatch.setattr(auth, "gateway_user", lambda: OLD_PASSWORD_USER)
    assert chat_titles(page()) == ["Saved before?"]  # that account's folder stays theirs
