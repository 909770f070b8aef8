"""The ingest pipeline: scan -> diff against the manifest -> load -> chunk -> embed -> store.

Work is incremental and crash-safe by construction:
- a file whose content hash matches its manifest row costs one hash and nothing else;
- a changed file is re-chunked, and only chunks whose (content-derived) id is new are
  embedded: the others reuse their stored vectors;
- each document is written by one atomic `Store.replace_document`, so a kill -9 leaves
  every document either old or new, and the next run finishes the job.
Embedding is batched across documents (the model is fastest on full batches).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragstream.errors import LoaderError
from ragstream.index.embedder import Embedder
from ragstream.index.store import Store
from ragstream.ingest import loaders
from ragstream.ingest.chunker import chunk_sections
from ragstream.ingest.report import (
    FileResult,
    IngestProgress,
    IngestReport,
    ProgressCallback,
    Stage,
)
from ragstream.models import Chunk, DocumentRecord, Section

EMBED_BATCH_CHUNKS = 64  # chunks gathered across documents before one embedding call


@dataclass(frozen=True)
class Blob:
    """A document's bytes from somewhere other than a local path (a URL, an S3 object).

    `key` is what the document is stored and cited under; `suffix` picks the loader.
    """

    key: str
    suffix: str
    data: bytes
    mtime: float = 0.0


@dataclass
class _Pending:
    record: DocumentRecord
    chunks: list[Chunk]
    warning: str = ""


def display_path(path: Path, base: Path) -> str:
    """The key a file is stored and cited under: relative to `base` when inside it.

    `base` is the folder that holds the workspace, so keys do not depend on the directory
    a command happens to be run from.
    """
    resolved = path.resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


def scan(
    paths: Sequence[Path], base: Path, skip: Path | None = None
) -> tuple[list[Path], list[str], list[str]]:
    """Files to consider, the directory keys scanned (for deletions), and missing paths."""
    files: list[Path] = []
    roots: list[str] = []
    missing: list[str] = []
    skip_resolved = skip.resolve() if skip else None
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            roots.append(display_path(path, base))
            files.extend(_walk(path, skip_resolved))
        else:
            missing.append(str(path))
    return files, roots, missing


def _walk(root: Path, skip: Path | None) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        # Hidden folders (.git, .ragstream, .venv) are never documents.
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (here / d).resolve() != skip
        )
        for name in sorted(filenames):
            if not name.startswith("."):
                yield here / name


class Ingestor:
    """One ingest run against a store with an embedder."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        chunk_tokens: int,
        chunk_overlap: int,
        max_bytes: int,
        base: Path,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.store = store
        self.base = base.resolve()
        self.embedder = embedder
        self.max_tokens = min(chunk_tokens, embedder.max_tokens - 2)  # room for [CLS]/[SEP]
        self.overlap = min(chunk_overlap, self.max_tokens // 2)
        self.max_bytes = max_bytes
        self.progress = progress
        self.report = IngestReport()
        self._pending: list[_Pending] = []
        self._done = 0
        self._total = 0

    # --- entry points ---------------------------------------------------------------
    def ingest_paths(
        self, paths: Sequence[Path], *, keep_missing: bool, skip: Path | None
    ) -> IngestReport:
        started = time.perf_counter()
        files, roots, missing = scan(paths, self.base, skip)
        for name in missing:
            self.report.files.append(FileResult(name, "failed", "no such file or directory"))
        manifest = {doc.path: doc for doc in self.store.documents()}
        self._total = len(files)
        seen: set[str] = set()
        for path in files:
            key = display_path(path, self.base)
            seen.add(key)
            self._handle_file(path, key, manifest.get(key))
        self._flush()
        if not keep_missing:
            self._remove_missing(manifest, roots, seen)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def ingest_documents(self, documents: Iterable[tuple[str, Sequence[Section]]]) -> IngestReport:
        started = time.perf_counter()
        for key, sections in documents:
            text = "\n".join(s.text for s in sections).encode("utf-8")
            record = _record(key, hashlib.sha256(text).hexdigest(), len(text), 0.0, sections)
            self._queue(record, sections)
        self._flush()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def ingest_blobs(self, blobs: Iterable[Blob]) -> IngestReport:
        """Index documents given as bytes (consumed lazily: one blob in memory at a time)."""
        started = time.perf_counter()
        manifest = {doc.path: doc for doc in self.store.documents()}
        for blob in blobs:
            self._total += 1
            self._handle_blob(blob, manifest.get(blob.key))
        self._flush()
        self.report.seconds = time.perf_counter() - started
        return self.report

    # --- steps ----------------------------------------------------------------------
    def _handle_blob(self, blob: Blob, known: DocumentRecord | None) -> None:
        self._tick(blob.key, "load")
        if blob.suffix.lower() not in loaders.SUPPORTED_SUFFIXES:
            self._result(FileResult(blob.key, "skipped", f"unsupported type {blob.suffix}"))
            return
        if len(blob.data) > self.max_bytes:
            mb = len(blob.data) / loaders.MB
            reason = f"{mb:.1f} MB, over the {self.max_bytes / loaders.MB:g} MB limit (max_file_mb)"
            self._result(FileResult(blob.key, "failed", reason))
            return
        sha = hashlib.sha256(blob.data).hexdigest()
        if known is not None and known.sha256 == sha:
            self._result(FileResult(blob.key, "unchanged", n_chunks=known.n_chunks))
            return
        try:
            if not blob.data:
                raise LoaderError("empty document")
            loaded = loaders.load_bytes(blob.suffix, blob.data)
        except LoaderError as exc:
            self._result(FileResult(blob.key, "failed", str(exc)))
            return
        record = _record(blob.key, sha, len(blob.data), blob.mtime, loaded.sections)
        self._queue(record, loaded.sections, "; ".join(loaded.warnings))

    def _handle_file(self, path: Path, key: str, known: DocumentRecord | None) -> None:
        self._tick(key, "load")
        if not loaders.is_supported(path):
            suffix = path.suffix or "(no extension)"
            self._result(FileResult(key, "skipped", f"unsupported file type {suffix}"))
            return
        try:
            data = loaders.read_checked(path, self.max_bytes)
            sha = hashlib.sha256(data).hexdigest()
            if known is not None and known.sha256 == sha:
                self._result(FileResult(key, "unchanged", n_chunks=known.n_chunks))
                return
            loaded = loaders.load_bytes(path.suffix, data)
        except LoaderError as exc:
            self._result(FileResult(key, "failed", str(exc)))
            return
        record = _record(key, sha, len(data), path.stat().st_mtime, loaded.sections)
        self._queue(record, loaded.sections, "; ".join(loaded.warnings))

    def _queue(
        self, record: DocumentRecord, sections: Sequence[Section], warning: str = ""
    ) -> None:
        chunks = chunk_sections(record.path, sections, self.embedder, self.max_tokens, self.overlap)
        if not chunks:
            self._result(FileResult(record.path, "failed", "no text to index"))
            return
        self._pending.append(_Pending(record, chunks, warning))
        if sum(len(p.chunks) for p in self._pending) >= EMBED_BATCH_CHUNKS:
            self._flush()

    def _flush(self) -> None:
        """Embed what the pending documents need, then write each document atomically."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        all_chunks = [c for p in pending for c in p.chunks]
        known = self.store.vectors_for([c.id for c in all_chunks])
        todo = [c for c in all_chunks if c.id not in known]
        if todo:
            self._tick(pending[-1].record.path, "embed")
            vectors = self.embedder.embed([c.text for c in todo])
            known.update(zip((c.id for c in todo), vectors, strict=True))
            self.report.chunks_embedded += len(todo)
        for item in pending:
            record = DocumentRecord(**{**item.record.__dict__, "n_chunks": len(item.chunks)})
            matrix = np.stack([known[c.id] for c in item.chunks]).astype(np.float32)
            self.store.replace_document(record, item.chunks, matrix)
            self._result(FileResult(record.path, "ingested", item.warning, len(item.chunks)))

    def _remove_missing(
        self, manifest: dict[str, DocumentRecord], roots: list[str], seen: set[str]
    ) -> None:
        prefixes = tuple(root.rstrip("/") + "/" for root in roots)
        for key in sorted(manifest):
            if key not in seen and key.startswith(prefixes) and self.store.remove_document(key):
                self.report.files.append(FileResult(key, "removed", "file no longer exists"))

    def _result(self, result: FileResult) -> None:
        self.report.files.append(result)
        self._done += 1
        self._tick(result.path, "done")

    def _tick(self, key: str, stage: Stage) -> None:
        if self.progress:
            total = max(self._total, self._done)
            self.progress(IngestProgress(self._done, total, key, stage))


def _record(
    key: str, sha: str, size: int, mtime: float, sections: Sequence[Section]
) -> DocumentRecord:
    pages = {s.page for s in sections if s.page is not None}
    return DocumentRecord(
        path=key,
        sha256=sha,
        size=size,
        mtime=mtime,
        n_chunks=0,
        n_pages=len(pages) or None,
        ingested_at=time.time(),
    )
