"""Hits and Sources built directly, and a stand-in retriever with fixed hits, for tests
that need no index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ragstream.config import Settings
from ragstream.generate.answer import answer as answer_stream
from ragstream.generate.events import Event, Source
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


HITS = [
    hit(
        "When the container already exists, the start script stops it and removes it before "
        "starting a fresh one. It then waits for the health check to pass.",
        "notes/deploy.md",
        title="Start script",
    ),
    hit(
        "The whole restart usually takes about forty seconds on a small instance.",
        "docs/runbook.pdf",
        page=7,
    ),
    hit("Rotate the API key every ninety days.", "notes/keys.md"),
]
QUESTION = "What does the start script do when the container already exists?"


@dataclass
class Retriever:
    """Stands in for a Workspace: fixed hits, and a record of what was searched."""

    settings: Settings
    hits: list[Hit] = field(default_factory=lambda: list(HITS))
    queries: list[str] = field(default_factory=list)

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        path_glob: str | None = None,
    ) -> list[Hit]:
        self.queries.append(query)
        return self.hits[: k or 5]


def answer(
    retriever: Retriever, question: str, history: object = (), **options: object
) -> Iterator[Event]:
    """The library's answer stream over the stand-in's search and settings."""
    return answer_stream(
        question,
        history,
        settings=retriever.settings,
        search=retriever.search,
        **options,  # type: ignore[arg-type]
    )
