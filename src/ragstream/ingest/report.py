"""What an ingest run reports: one line per file, and progress while it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

FileStatus = Literal["ingested", "unchanged", "skipped", "failed", "removed", "queued"]
Stage = Literal["load", "ocr", "embed", "done"]


@dataclass(frozen=True)
class FileResult:
    path: str
    status: FileStatus
    reason: str = ""  # one line: why skipped/failed, or a warning for an ingested file
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
    stage: Stage
    detail: str = ""  # e.g. "page 3 of 12" while a scan is OCRed


ProgressCallback = Callable[[IngestProgress], None]
