"""The answer stream: what `Workspace.ask` yields, in this order.

    Sources   once, first, before the answer is requested: the numbered chunks it may cite
              (a follow-up is rewritten by the LLM before retrieval, so after that call)
    Delta     zero or more: answer text as it arrives (invalid [n] markers already removed)
    Done      once, last: the whole answer, the citations it used, usage and timings

The CLI and the Streamlit UI both consume this one stream; events are plain frozen
dataclasses so a consumer needs nothing but `isinstance` (or `event.kind`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ragstream.models import Hit, locator


@dataclass(frozen=True)
class Source:
    """One numbered piece of context; `n` is what the answer cites as [n]."""

    n: int
    path: str
    page: int | None
    title: str | None
    text: str
    score: float
    chunk_id: str
    lines: tuple[int, int] | None = None  # source lines (or sheet rows), inclusive

    @property
    def label(self) -> str:
        """Where the text sits, e.g. `docs/x.pdf p.7`, `ssh.1.txt L120-145` or
        `notes/deploy.md § "Start script"`."""
        where = locator(self.path, self.page, self.title, self.lines)
        return f"{self.path} {where}" if where else self.path

    @classmethod
    def from_hit(cls, n: int, hit: Hit, text: str | None = None) -> Source:
        c = hit.chunk
        body = c.text if text is None else text
        return cls(n, c.path, c.page, c.title, body, hit.score, c.id, c.lines)


@dataclass(frozen=True)
class Sources:
    kind: Literal["sources"] = field(default="sources", init=False)
    sources: tuple[Source, ...] = ()
    query: str = ""  # the standalone question retrieval ran for (rewritten on follow-ups)


@dataclass(frozen=True)
class Delta:
    text: str
    kind: Literal["delta"] = field(default="delta", init=False)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Timings:
    retrieval_ms: float  # question in -> Sources out (rewrite + search + packing)
    first_token_ms: float | None  # question in -> first Delta (None if no text came)
    total_ms: float


@dataclass(frozen=True)
class Done:
    answer: str
    citations: tuple[Source, ...]  # the sources the answer actually cites, in order of first use
    timings: Timings
    offline: bool  # True: no LLM in use, the answer is extractive (quoted sentences)
    query: str  # the standalone question used for retrieval
    usage: Usage | None = None  # tokens as the server reported them (None offline)
    model: str | None = None
    answered: bool = True  # False: the documents do not answer it (retrieve/abstain.py)
    kind: Literal["done"] = field(default="done", init=False)


Event = Sources | Delta | Done
