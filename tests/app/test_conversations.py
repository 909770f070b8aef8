"""Saved chats: a round trip through the file, the list, delete and the export."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.app import conversations
from ragstream.app.state import Message
from ragstream.generate.events import Source

SOURCE = Source(1, "ws/uploads/handbook.pdf", 2, None, "Keys rotate every\n90 days.", 0.9, "c1")
LINES = Source(2, "ws/uploads/notes.txt", None, None, "Rotate keys.", 0.5, "c2", lines=(3, 4))
CHAT = [
    Message("user", "How often are keys rotated?"),
    Message(
        "assistant",
        "Every 90 days [1].",
        sources=(SOURCE, LINES),
        citations=(SOURCE, LINES),
        note="Offline mode · 12 ms",
    ),
]


def test_a_saved_chat_comes_back_as_it_was(tmp_path: Path) -> None:
    directory = conversations.user_dir(tmp_path, None)
    conversations.save(directory, "a" * 32, CHAT)
    assert conversations.load(directory, "a" * 32) == CHAT
    assert hash(conversations.load(directory, "a" * 32)[1].sources[1]) == hash(LINES)
    [info] = conversations.list_chats(directory)
    assert info.id == "a" * 32 and info.title == "How often are keys rotated?"
    assert [p.name for p in directory.iterdir()] == ["a" * 32 + ".json"]  # no temp left
    conversations.delete(directory, "a" * 32)
    assert conversations.list_chats(directory) == []


def test_users_get_separate_folders_and_ids_are_never_paths(tmp_path: Path) -> None:
    ann = conversations.user_dir(tmp_path, "ann@example.com")
    bob = conversations.user_dir(tmp_path, "../../bob")
    assert ann != bob and ann.parent == bob.parent == tmp_path / "chats"
    with pytest.raises(ValueError):
        conversations.load(ann, "../../etc/passwd")


def test_newest_first_and_a_broken_file_is_skipped(tmp_path: Path) -> None:
    directory = conversations.user_dir(tmp_path, None)
    conversations.save(directory, "1" * 32, CHAT[:1])
    conversations.save(directory, "2" * 32, [Message("user", "Second " + "x" * 80)])
    (directory / ("3" * 32 + ".json")).write_text("{not json")
    chats = conversations.list_chats(directory)
    assert [c.id for c in chats] == ["2" * 32, "1" * 32]
    assert len(chats[0].title) == conversations.TITLE_CHARS and chats[0].title.endswith("…")


def test_markdown_export_quotes_the_cited_passages() -> None:
    text = conversations.to_markdown(CHAT)
    assert text.startswith("# How often are keys rotated?\n")
    assert "**You:** How often are keys rotated?" in text
    assert "Every 90 days [1]." in text and "*Offline mode · 12 ms*" in text
    assert "> [1] handbook.pdf p.2: Keys rotate every 90 days." in text
