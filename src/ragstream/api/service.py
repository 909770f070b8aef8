"""What the three doors share: one Workspace per process and the rules for writing to it.

Searches and answers run concurrently (the store reads through WAL / its own pool);
writes (uploads, deletes) take one lock so two uploads take turns, never the searches.
An upload is checked and saved exactly like the page's (ragstream.app.uploads), then
ingested, and reported per file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ragstream.app import uploads
from ragstream.config import Settings
from ragstream.errors import RagstreamError
from ragstream.generate.events import Event
from ragstream.generate.llm import llm_configured
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES
from ragstream.models import Chunk, DocumentRecord, Hit
from ragstream.workspace import Workspace

MAX_FILES_PER_UPLOAD = 100


@dataclass(frozen=True)
class UploadResult:
    """One uploaded file's outcome; `status_code` says why it was refused, if it was."""

    name: str
    status: str  # ingested, unchanged, skipped, failed
    reason: str = ""
    n_chunks: int = 0
    path: str = ""  # the document key (for delete / search filters)
    status_code: int = 200


def refusal_status(name: str, size: int, max_bytes: int) -> int:
    """415 for a type we do not read, 413 over the size limit, else 400."""
    if PurePath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return 415
    return 413 if size > max_bytes else 400


class Service:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.write_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def llm(self) -> bool:
        return llm_configured(self.settings)

    def warm_up(self) -> None:
        """Load the embedder and the index now, so the first request does not pay."""
        self.workspace.search("warm up", k=1)

    # --- reads -----------------------------------------------------------------------
    def search(self, query: str, k: int, mode: str | None, path_glob: str | None) -> list[Hit]:
        return self.workspace.search(query, k=k, mode=mode, path_glob=path_glob)

    def ask(self, question: str, history: Sequence[Any], **options: Any) -> Iterator[Event]:
        # Issue 13 keeps this shape (Workspace.ask -> Iterator[Event]); only the options move.
        return iter(self.workspace.ask(question, history=history, **options))

    def documents(self) -> list[DocumentRecord]:
        return sorted(self.workspace.documents(), key=lambda d: d.path)

    def passage(self, chunk_id: str) -> Chunk | None:
        found = self.workspace.store.chunks([chunk_id])
        return found[0] if found else None

    def count_chunks(self) -> int:
        return self.workspace.store.count_chunks()

    # --- writes ----------------------------------------------------------------------
    def upload(self, files: Sequence[tuple[str, bytes]]) -> list[UploadResult]:
        """Save every acceptable file, ingest them together; one result per file, in the
        order sent."""
        settings = self.settings
        target = uploads.uploads_dir(settings)
        results: list[tuple[int, UploadResult]] = []
        saved: dict[str, tuple[int, str]] = {}  # saved path -> (position, name as sent)
        for position, (name, data) in enumerate(files):
            try:
                path = uploads.save_upload(target, name, data, settings.max_file_bytes)
            except RagstreamError as exc:
                code = refusal_status(name, len(data), settings.max_file_bytes)
                reason = str(exc).split(": ", 1)[-1]
                results.append((position, UploadResult(name, "failed", reason, status_code=code)))
                continue
            saved[str(path.resolve())] = (position, name)
        if saved:
            with self.write_lock:
                report = self.workspace.ingest([Path(p) for p in saved])
            for row in report.files:
                source = self.workspace.source_path(row.path)
                position, name = saved.get(str(source.resolve()), (len(files), row.path))
                if row.status == "failed":
                    uploads.discard_upload(settings, source)
                code = 400 if row.status == "failed" else 200
                result = UploadResult(name, row.status, row.reason, row.n_chunks, row.path, code)
                results.append((position, result))
        return [result for _, result in sorted(results, key=lambda pair: pair[0])]

    def remove(self, path: str) -> bool:
        with self.write_lock:
            removed = self.workspace.remove(path)
        if removed:
            uploads.discard_upload(self.settings, self.workspace.source_path(path))
        return removed

    def close(self) -> None:
        self.workspace.close()


def start_answer(
    service: Service, question: str, history: Sequence[Any], **options: Any
) -> tuple[list[Event], Iterator[Event]]:
    """Run the answer up to its first text, so a failing LLM is still a status code.

    Returns the events so far (Sources, the first Delta or Done) and the rest of the
    stream; a RagstreamError before the first text propagates to the caller.
    """
    events = service.ask(question, history, **options)
    head: list[Event] = []
    for event in events:
        head.append(event)
        if event.kind != "sources":
            break
    return head, events
