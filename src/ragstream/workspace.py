"""Workspace: the one library object behind the CLI, the UI and (later) the API.

    ws = Workspace.open(settings)          # or Workspace.open(workspace=Path("x"))
    report = ws.ingest([Path("docs")])     # incremental, crash-safe
    hits = ws.search("how do I rotate the key?", k=5)
    for event in ws.ask("...", history=[...]): ...   # see ragstream.generate

Heavy objects (embedder, store) are created on first use and kept for the object's life.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ragstream.config import Settings, load_settings
from ragstream.models import DocumentRecord, Hit, Section

FileStatus = Literal["ingested", "unchanged", "skipped", "failed", "removed"]


@dataclass(frozen=True)
class FileResult:
    path: str
    status: FileStatus
    reason: str = ""  # one line: why skipped/failed
    n_chunks: int = 0


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    chunks_embedded: int = 0  # new embedding work done (0 on a no-op re-run)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)


@dataclass(frozen=True)
class IngestProgress:
    """Sent to the progress callback: `done` of `total` files handled, current file."""

    done: int
    total: int
    path: str
    stage: Literal["scan", "load", "embed", "store", "done"]


ProgressCallback = Callable[[IngestProgress], None]


class Workspace:
    """Documents, index and settings of one workspace directory (or database)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings | None = None, **overrides: Any) -> Workspace:
        """Open (creating if needed) the workspace that `settings` (plus overrides) name."""
        settings = settings.replace(**overrides) if settings else load_settings(overrides)
        return cls(settings)

    # --- ingest -------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[Path],
        *,
        keep_missing: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Bring the index in line with the files under `paths` (files or directories).

        Unchanged files (same content hash) cost nothing; changed files are replaced
        whole; files that vanished from a scanned directory are removed unless
        `keep_missing`. One bad file is reported and never stops the others.
        """
        raise NotImplementedError

    def add_documents(
        self,
        documents: Iterable[tuple[str, Sequence[Section]]],
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Index already-loaded documents (path/id, sections), e.g. an eval corpus."""
        raise NotImplementedError

    def documents(self) -> list[DocumentRecord]:
        raise NotImplementedError

    def remove(self, path: str) -> bool:
        raise NotImplementedError

    # --- retrieve -----------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        path_glob: str | None = None,
    ) -> list[Hit]:
        """Top-k chunks for `query`: "hybrid" (default), "bm25" or "dense"."""
        raise NotImplementedError

    # --- answer (ragstream.generate) ------------------------------------------------
    def ask(self, question: str, *, history: Sequence[Any] = (), **options: Any) -> Iterator[Any]:
        """Stream of answer events; see ragstream.generate."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
