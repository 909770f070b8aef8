"""Saved conversations: one JSON file per chat in `<workspace>/chats/<user>/`.

A chat is saved after every answer, so it survives a reload and a restart; the sidebar
lists a user's chats to reopen or delete, and one chat exports as Markdown with its
citations. With auth on, `<user>` is a hash of the signed-in name (a name never becomes
a path); without, everyone shares `default`. Files are written to a temporary name and
renamed, so a crash never leaves half a chat.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragstream.app.passages import source_label
from ragstream.app.state import Message
from ragstream.generate.events import Source

_CHAT_ID = re.compile(r"^[0-9a-f]{32}$")
TITLE_CHARS = 60


@dataclass(frozen=True)
class ChatInfo:
    id: str
    title: str
    updated: float


def user_dir(workspace: Path, user: str | None) -> Path:
    key = hashlib.sha256(user.encode("utf-8")).hexdigest()[:24] if user else "default"
    return workspace / "chats" / key


def adopt_chats(workspace: Path, old_user: str, new_user: str) -> int:
    """Move `old_user`'s saved chats to `new_user` (a renamed sign-in); returns how many.

    Idempotent and safe with two tabs at once: each file is linked under the new name
    (a link never overwrites) and only then unlinked; a chat whose id is already taken
    by different content is kept under a fresh id, never over the other.
    """
    old, new = user_dir(workspace, old_user), user_dir(workspace, new_user)
    if not old.is_dir():
        return 0
    new.mkdir(parents=True, exist_ok=True)
    moved = 0
    for path in old.glob("*.json"):
        if not _CHAT_ID.match(path.stem):
            continue
        try:
            try:
                os.link(path, new / path.name)
                moved += 1
            except FileExistsError:  # moved before (same bytes) or a different chat
                if (new / path.name).read_bytes() != path.read_bytes():
                    os.link(path, new / f"{uuid.uuid4().hex}.json")
                    moved += 1
            path.unlink()
        except FileNotFoundError:
            continue  # another tab moved it first
    with contextlib.suppress(OSError):
        old.rmdir()  # only when empty (a half-written .part of the old session stays)
    return moved


def _path(directory: Path, chat_id: str) -> Path:
    if not _CHAT_ID.match(chat_id):  # ids come back from the page: never a path
        raise ValueError(f"not a chat id: {chat_id!r}")
    return directory / f"{chat_id}.json"


def title_of(messages: list[Message]) -> str:
    first = next((m.content for m in messages if m.role == "user"), "New chat")
    flat = " ".join(first.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1] + "…"


def save(directory: Path, chat_id: str, messages: list[Message]) -> None:
    target = _path(directory, chat_id)
    directory.mkdir(parents=True, exist_ok=True)
    data = {
        "title": title_of(messages),
        "updated": time.time(),
        "messages": [dataclasses.asdict(m) for m in messages],
    }
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".chat-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _message(raw: dict[str, Any]) -> Message:
    def sources(key: str) -> tuple[Source, ...]:
        # JSON has no tuples: a line range comes back as a list.
        return tuple(
            Source(**{**s, "lines": tuple(s["lines"]) if s.get("lines") else None})
            for s in raw.get(key, ())
        )

    return Message(
        raw["role"],
        raw["content"],
        sources=sources("sources"),
        citations=sources("citations"),
        note=raw.get("note", ""),
        prompt=bool(raw.get("prompt", False)),
    )


def load(directory: Path, chat_id: str) -> list[Message]:
    data = json.loads(_path(directory, chat_id).read_text(encoding="utf-8"))
    return [_message(m) for m in data["messages"]]


def delete(directory: Path, chat_id: str) -> None:
    _path(directory, chat_id).unlink(missing_ok=True)


def list_chats(directory: Path) -> list[ChatInfo]:
    """The user's chats, newest first; an unreadable file is skipped, not fatal."""
    chats = []
    for path in directory.glob("*.json") if directory.is_dir() else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            chats.append(ChatInfo(path.stem, str(data["title"]), float(data["updated"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(chats, key=lambda c: c.updated, reverse=True)


def to_markdown(messages: list[Message]) -> str:
    """The chat as Markdown: each question and answer, and under an answer the
    passages it cites, quoted with where they come from."""
    lines = [f"# {title_of(messages)}", ""]
    for message in messages:
        if message.role == "user":
            lines += [f"**You:** {message.content}", ""]
            continue
        lines += ["**RAGstream:**", ""]
        lines += [f"```\n{message.content}\n```" if message.prompt else message.content, ""]
        if message.note:
            lines += [f"*{message.note}*", ""]
        for source in message.citations:
            where = source_label(source.path, source.page, source.title, source.lines)
            quote = " ".join(source.text.split())
            lines += [f"> [{source.n}] {where}: {quote}", ">"]
        if message.citations:
            lines[-1] = ""
    return "\n".join(lines).rstrip() + "\n"
