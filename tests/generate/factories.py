"""Hits and Sources built directly, for tests that need no index."""

from __future__ import annotations

from ragstream.generate.events import Source
from ragstream.models import Chunk, Hit


def hit(
    text: str,
    path: str = "notes/deploy.md",
    page: int | None = None,
    title: str | None = None,
    score: float = 1.0,
) -> Hit:
    chunk = Chunk(
        id=f"{path}#{abs(hash(text)) % 10**8}",
        path=path,
        text=text,
        ordinal=0,
        page=page,
        title=title,
    )
    return Hit(chunk=chunk, score=score)


def source(
    n: int,
    text: str,
    path: str = "notes/deploy.md",
    page: int | None = None,
    title: str | None = None,
) -> Source:
    return Source.from_hit(n, hit(text, path, page, title))
