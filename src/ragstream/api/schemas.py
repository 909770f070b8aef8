"""Request and response shapes of the REST door (they are the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ragstream.generate.events import Done, Source
from ragstream.models import DocumentRecord, Hit

Mode = Literal["hybrid", "bm25", "dense"]
MAX_K = 100


class Strict(BaseModel):
    # Unknown fields and wrong types (`"stream": 0`, `"k": "5"`) are a 422, not a guess.
    model_config = ConfigDict(extra="forbid", strict=True)


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=4000, description="What to look for.")
    k: int = Field(5, ge=1, le=MAX_K, description="How many passages.")
    mode: Mode | None = Field(None, description="Retrieval mode (default: the workspace's).")
    path: str | None = Field(
        None, max_length=500, description='Only documents matching this glob, e.g. "docs/*.pdf".'
    )
    collection: str | None = Field(
        None,
        max_length=200,
        description="Only this collection (default: every one the token may read).",
    )


class HitOut(BaseModel):
    chunk_id: str
    path: str
    page: int | None
    title: str | None
    text: str
    score: float
    ranks: dict[str, int]

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        c = hit.chunk
        return cls(
            chunk_id=c.id,
            path=c.path,
            page=c.page,
            title=c.title,
            text=c.text,
            score=hit.score,
            ranks=dict(hit.ranks),
        )


class SearchResponse(BaseModel):
    query: str
    hits: list[HitOut]


class Turn(Strict):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=100_000)


class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=4000)
    history: list[Turn] = Field(default_factory=list, max_length=100)
    k: int | None = Field(None, ge=1, le=MAX_K)
    mode: Mode | None = None
    path: str | None = Field(None, max_length=500)
    collection: str | None = Field(
        None,
        max_length=200,
        description="Only this collection (default: every one the token may read).",
    )
    offline: bool | None = Field(
        None,
        description="true: extractive answer even when an LLM is configured; "
        "false or absent: the LLM when one is configured, else extractive.",
    )
    stream: bool = Field(
        False, description="true (or Accept: text/event-stream): Server-Sent Events."
    )

    def options(self) -> dict[str, Any]:
        # offline=false never forces an LLM the server has not got (that would be a 503)
        offline = True if self.offline else None
        return {"k": self.k, "mode": self.mode, "path_glob": self.path, "offline": offline}


class SourceOut(BaseModel):
    n: int = Field(description="What the answer cites as [n].")
    chunk_id: str
    path: str
    page: int | None
    title: str | None
    label: str = Field(description='Where it is, e.g. "docs/x.pdf p.7".')
    text: str
    score: float

    @classmethod
    def of(cls, s: Source) -> SourceOut:
        return cls(
            n=s.n,
            chunk_id=s.chunk_id,
            path=s.path,
            page=s.page,
            title=s.title,
            label=s.label,
            text=s.text,
            score=s.score,
        )


class AskResponse(BaseModel):
    answer: str
    citations: list[SourceOut] = Field(description="The sources the answer cites.")
    sources: list[SourceOut] = Field(description="Everything it could cite.")
    query: str
    offline: bool
    model: str | None
    usage: dict[str, int] | None
    timings: dict[str, float | None]

    @classmethod
    def of(cls, done: Done, sources: tuple[Source, ...]) -> AskResponse:
        return cls(
            answer=done.answer,
            citations=[SourceOut.of(s) for s in done.citations],
            sources=[SourceOut.of(s) for s in sources],
            query=done.query,
            offline=done.offline,
            model=done.model,
            usage=usage_dict(done),
            timings=vars(done.timings),
        )


def usage_dict(done: Done) -> dict[str, int] | None:
    u = done.usage
    if u is None:
        return None
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
    }


class DocumentOut(BaseModel):
    path: str
    sha256: str
    size: int
    n_chunks: int
    n_pages: int | None
    ingested_at: float

    @classmethod
    def of(cls, d: DocumentRecord) -> DocumentOut:
        return cls(
            path=d.path,
            sha256=d.sha256,
            size=d.size,
            n_chunks=d.n_chunks,
            n_pages=d.n_pages,
            ingested_at=d.ingested_at,
        )


class DocumentList(BaseModel):
    documents: list[DocumentOut]


class UploadFileResult(BaseModel):
    name: str = Field(description="The file name as sent.")
    status: str = Field(
        description="ingested, unchanged, skipped or failed; queued in a fleet (an ingest "
        "worker indexes it)"
    )
    reason: str = ""
    n_chunks: int = 0
    path: str = Field("", description="The document key (for delete and path filters).")


class UploadResponse(BaseModel):
    files: list[UploadFileResult]


class Deleted(BaseModel):
    deleted: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class ErrorDetail(BaseModel):
    code: str = Field(description='Machine-readable, e.g. "unauthorized", "too_large".')
    message: str = Field(description="One line naming the field or file and what to do.")


class ErrorResponse(BaseModel):
    error: ErrorDetail
