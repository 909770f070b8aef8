"""The records that flow through the pipeline: files -> sections -> chunks -> hits."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A run of text from one place in a document: a PDF page or a Markdown/DOCX section.

    `page` is 1-based for paged formats and None otherwise; `title` is the heading the
    text sits under (None when there is none). Offsets of chunks are relative to `text`.
    `line` is the source line (or spreadsheet row) of the text's first line, set only by
    loaders whose text lines map one to one onto consecutive source lines (or rows), so
    a chunk can be cited as `notes.txt L120-145`.
    """

    text: str
    page: int | None = None
    title: str | None = None
    line: int | None = None


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
    line_start: int | None = None  # first and last source line (or row), inclusive
    line_end: int | None = None

    @property
    def lines(self) -> tuple[int, int] | None:
        """(line_start, line_end) when the format has lines, for `locator`."""
        if self.line_start is None or self.line_end is None:
            return None
        return self.line_start, self.line_end


# Files whose "lines" are table rows, and whose "pages" are slides, for citation labels.
ROW_SUFFIXES = (".csv", ".tsv", ".xlsx")
SLIDE_SUFFIXES = (".pptx",)


def locator(path: str, page: int | None, title: str | None, lines: tuple[int, int] | None) -> str:
    """Where a passage sits, after its file name: `p.7`, `slide 3`, `L120-145`,
    `L12-30 § "Setup > Ports"`, `Sheet1 rows 2-15`, `§ "Install"`, or "" when nothing
    narrower than the file is known."""
    suffix = path[path.rfind(".") :].lower() if "." in path else ""
    if lines is not None:
        span = str(lines[0]) if lines[0] == lines[1] else f"{lines[0]}-{lines[1]}"
        if suffix in ROW_SUFFIXES:
            return f"{title} rows {span}" if title else f"rows {span}"
        return f'L{span} § "{title}"' if title else f"L{span}"
    if page is not None:
        return f"slide {page}" if suffix in SLIDE_SUFFIXES else f"p.{page}"
    return f'§ "{title}"' if title else ""


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
    collection: str = "default"  # who may see it is decided per collection (ragstream.access)


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search, with the fused score and each retriever's rank."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # e.g. {"bm25": 3, "dense": 1}
    # each stage's raw score, e.g. {"dense": 0.61, "bm25": 7.2, "colbert": 0.74}
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    documents: int
    chunks: int


@dataclass(frozen=True)
class Membership:
    """`principal` is "user:NAME" or "group:NAME"; `role` is viewer, editor or owner."""

    collection: str
    principal: str
    role: str


@dataclass(frozen=True)
class UserRecord:
    name: str
    admin: bool
    created_at: float


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    action: str  # e.g. "upload", "remove", "grant", "revoke", "collection.delete"
    target: str
    detail: str = ""
