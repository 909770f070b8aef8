"""The records that flow through the pipeline: files -> sections -> chunks -> hits."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A run of text from one place in a document: a PDF page or a Markdown/DOCX section.

    `page` is 1-based for paged formats and None otherwise; `title` is the heading the
    text sits under (None when there is none). Offsets of chunks are relative to `text`.
    """

    text: str
    page: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document, with enough to cite it exactly."""

    id: str  # stable: derived from path and content, so re-ingesting is a no-op
    path: str  # the document key (see DocumentRecord.path)
    text: str
    ordinal: int  # position of the chunk within its document
    page: int | None = None
    title: str | None = None
    section_index: int = 0  # which Section of the document the offsets refer to
    start: int = 0  # character offsets into that section's text
    end: int = 0
    n_tokens: int = 0


@dataclass(frozen=True)
class DocumentRecord:
    """One manifest row: what was ingested from a file, with its content hash."""

    # The document key: relative to the folder holding the workspace when the file is
    # inside it (posix separators), else absolute (Workspace.source_path inverts it).
    path: str
    sha256: str
    size: int
    mtime: float
    n_chunks: int
    n_pages: int | None
    ingested_at: float


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search, with the fused score and each retriever's rank."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # e.g. {"bm25": 3, "dense": 1}
