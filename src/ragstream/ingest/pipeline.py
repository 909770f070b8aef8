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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from ragstream.errors import LoaderError
from ragstream.index.embedder import Embedder
from ragstream.index.store import Store
from ragstream.ingest import attached, limits, loaders, ocr
from ragstream.ingest.chunker import chunk_sections
from ragstream.ingest.loaders.common import LoadResult, one_line
from ragstream.ingest.report import (
    FileResult,
    IngestProgress,
    IngestReport,
    ProgressCallback,
    Stage,
)
from ragstream.models import Chunk, DocumentRecord, Section

# chunks -> stored reranker vectors per chunk (bytes), e.g. ColbertReranker.chunk_blobs
TokenVectors = Callable[[Sequence[Chunk]], list[bytes]]
EMBED_BATCH_CHUNKS = 64  # chunks gathered across documents before one embedding call
DEFAULT_COLLECTION = "default"


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
    drop: list[str] = field(default_factory=list)  # attachments the new version no longer has


ELSEWHERE = "already indexed in a collection you may not change: remove it there first"


def display_path(path: Path, base: Path) -> str:
    """The key a file is stored and cited under: relative to `base` when inside it.

    `base` is the folder that holds the workspace, so keys do not depend on the directory
    a command happens to be run from. A name that is not valid UTF-8 shows its bytes as
    \\xNN escapes: the key must be storable text (SQLite, PostgreSQL, chunk ids).
    """
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: keep the path as given
        resolved = path.absolute()
    try:
        key = resolved.relative_to(base).as_posix()
    except ValueError:
        key = resolved.as_posix()
    return printable(key)


def printable(name: str) -> str:
    """A file name as valid Unicode: undecodable bytes (surrogate escapes) as \\xNN."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")


@dataclass
class Scanned:
    files: list[Path] = field(default_factory=list)  # to consider
    roots: list[str] = field(default_factory=list)  # directory keys scanned (for deletions)
    missing: list[str] = field(default_factory=list)  # paths given that do not exist
    unreadable: dict[str, str] = field(default_factory=dict)  # folder key -> why


def scan(paths: Sequence[Path], base: Path, skip: Path | None = None) -> Scanned:
    """The files under `paths`, and what could not be looked into."""
    found = Scanned()
    skip_resolved = skip.resolve() if skip else None
    for path in paths:
        if path.is_dir():
            found.roots.append(display_path(path, base))
            found.files.extend(_walk(path, base, skip_resolved, found.unreadable))
        elif os.path.lexists(path):  # files, and FIFOs or broken links the loader explains
            found.files.append(path)
        else:
            found.missing.append(printable(str(path)))
    return found


def _walk(root: Path, base: Path, skip: Path | None, unreadable: dict[str, str]) -> Iterator[Path]:
    def failed(exc: OSError) -> None:  # os.walk would drop the folder silently
        where = Path(exc.filename) if exc.filename else root
        unreadable[display_path(where, base)] = exc.strerror or str(exc)

    for dirpath, dirnames, filenames in os.walk(root, onerror=failed):
        here = Path(dirpath)
        # Hidden folders (.git, .ragstream, .venv) are never documents.
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not _same(here / d, skip)
        )
        for name in sorted(filenames):
            if not name.startswith("."):
                yield here / name


def _same(path: Path, skip: Path | None) -> bool:
    try:
        return skip is not None and path.resolve() == skip
    except (OSError, RuntimeError):
        return False


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
        collection: str = DEFAULT_COLLECTION,
        may_take_from: Callable[[str], bool] = lambda _collection: True,
        ocr_mode: str = "auto",
        token_vectors: TokenVectors | None = None,
    ) -> None:
        """Documents go into `collection`. A file already indexed in another collection
        moves here only when `may_take_from(that collection)`: an editor of one collection
        cannot overwrite (or learn about) a document of another by ingesting its path.
        `token_vectors`, when given, encodes chunks for the reranker (ColBERT's passage
        vectors), stored with them; chunks that already have some reuse them."""
        self.store = store
        self.token_vectors = token_vectors
        self.collection = collection
        self.may_take_from = may_take_from
        self.base = base.resolve()
        self.embedder = embedder
        self.max_tokens = min(chunk_tokens, embedder.max_tokens - 2)  # room for [CLS]/[SEP]
        self.overlap = min(chunk_overlap, self.max_tokens // 2)
        self.max_bytes = max_bytes
        self.seconds_per_file = limits.SECONDS_MAX_PER_FILE
        self.ocr_mode = ocr_mode  # "auto" | "off" | "force": see ragstream.ingest.ocr
        self.progress = progress
        self.report = IngestReport()
        self._manifest: dict[str, DocumentRecord] = {}
        self._pending: list[_Pending] = []
        self._done = 0
        self._total = 0

    # --- entry points ---------------------------------------------------------------
    def ingest_paths(
        self, paths: Sequence[Path], *, keep_missing: bool, skip: Path | None
    ) -> IngestReport:
        started = time.perf_counter()
        found = scan(paths, self.base, skip)
        for name in found.missing:
            self.report.files.append(FileResult(name, "failed", "no such file or directory"))
        for key, why in sorted(found.unreadable.items()):
            # Its documents stay in the index: unreadable is not removed.
            reason = f"folder cannot be read ({why}): its documents are kept as they were"
            self.report.files.append(FileResult(key, "failed", reason))
        manifest = self._manifest = {doc.path: doc for doc in self.store.documents()}
        self._total = len(found.files)
        seen: set[str] = set()
        for path in found.files:
            key = display_path(path, self.base)
            seen.add(key)
            known = manifest.get(key)
            if known is not None and not self._may_store(known):
                self._result(FileResult(key, "failed", ELSEWHERE))
                continue
            if known is not None and known.collection != self.collection:
                known = None  # stored again under this collection (its vectors are reused)
            self._handle_file(path, key, known)
        self._flush()
        # A message seen keeps its attachments (one no longer attached went at its write).
        seen.update(k for key in list(seen) for k in attached.attachments_of(manifest, key))
        if not keep_missing:
            mine = {k: d for k, d in manifest.items() if d.collection == self.collection}
            kept = tuple(key.rstrip("/") + "/" for key in found.unreadable)
            self._remove_missing(mine, found.roots, seen, kept)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def ingest_documents(self, documents: Iterable[tuple[str, Sequence[Section]]]) -> IngestReport:
        started = time.perf_counter()
        manifest = self._manifest = {doc.path: doc for doc in self.store.documents()}
        for key, sections in documents:
            known = manifest.get(key)
            if known and not self._may_store(known):
                self._result(FileResult(key, "failed", ELSEWHERE))
                continue
            text = "\n".join(s.text for s in sections).encode("utf-8")
            record = _record(key, hashlib.sha256(text).hexdigest(), len(text), 0.0, sections)
            self._guarded(key, partial(self._chunked, record, sections))
        self._flush()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def ingest_blobs(self, blobs: Iterable[Blob]) -> IngestReport:
        """Index documents given as bytes (consumed lazily: one blob in memory at a time)."""
        started = time.perf_counter()
        manifest = self._manifest = {doc.path: doc for doc in self.store.documents()}
        for blob in blobs:
            self._total += 1
            known = manifest.get(blob.key)
            if known is not None and not self._may_store(known):
                self._result(FileResult(blob.key, "failed", ELSEWHERE))
                continue
            if known is not None and known.collection != self.collection:
                known = None  # stored again under this collection (its vectors are reused)
            self._handle_blob(blob, known)
        self._flush()
        self.report.seconds = time.perf_counter() - started
        return self.report

    # --- steps ----------------------------------------------------------------------
    def _may_store(self, known: DocumentRecord) -> bool:
        return known.collection == self.collection or self.may_take_from(known.collection)

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
        self._guarded(blob.key, lambda: self._load_blob(blob, known))

    def _load_blob(self, blob: Blob, known: DocumentRecord | None) -> list[_Pending] | None:
        sha = hashlib.sha256(blob.data).hexdigest()
        if known is not None and known.sha256 == sha:
            self._result(FileResult(blob.key, "unchanged", n_chunks=known.n_chunks))
            return None
        if not blob.data:
            raise LoaderError("empty document")
        loaded = loaders.load_bytes(blob.suffix, blob.data)
        record = _record(blob.key, sha, len(blob.data), blob.mtime, loaded.sections)
        return self._with_attachments(record, loaded)

    def _handle_file(self, path: Path, key: str, known: DocumentRecord | None) -> None:
        self._tick(key, "load")
        if not loaders.is_supported(path):
            suffix = printable(path.suffix) or "(no extension)"
            self._result(FileResult(key, "skipped", f"unsupported file type {suffix}"))
            return
        self._guarded(key, lambda: self._load_file(path, key, known))

    def _guarded(self, key: str, work: Callable[[], _Pending | list[_Pending] | None]) -> None:
        """Run one document's load and chunking within its budget; any failure becomes
        its one-line reason and the run goes on. Embedding and writing come after."""

        def on_page(number: int, count: int) -> None:
            self._tick(key, "ocr", f"page {number} of {count}")

        try:
            with limits.file_budget(self.seconds_per_file), ocr.ocr_context(self.ocr_mode, on_page):
                pending = work()
        except LoaderError as exc:
            self._result(FileResult(key, "failed", str(exc)))
            return
        except Exception as exc:  # any other per-file failure: one line, and the run goes on
            self._result(FileResult(key, "failed", f"cannot ingest it ({one_line(exc)})"))
            return
        if pending is not None:
            self._pending.extend(pending if isinstance(pending, list) else [pending])
            if sum(len(p.chunks) for p in self._pending) >= EMBED_BATCH_CHUNKS:
                self._flush()

    def _load_file(
        self, path: Path, key: str, known: DocumentRecord | None
    ) -> list[_Pending] | None:
        data, mtime = loaders.read_file(path, self.max_bytes)
        sha = hashlib.sha256(data).hexdigest()
        if known is not None and known.sha256 == sha:
            self._result(FileResult(key, "unchanged", n_chunks=known.n_chunks))
            return None
        size = len(data)
        loaded = loaders.load_bytes(path.suffix, data)
        del data  # the text is all we need from here: one copy less of a large file
        record = _record(key, sha, size, mtime, loaded.sections)
        return self._with_attachments(record, loaded)

    def _with_attachments(self, record: DocumentRecord, loaded: LoadResult) -> list[_Pending]:
        """The document and each attachment it carries, as documents of their own
        (ragstream.ingest.attached); an attachment that cannot be chunked is a warning."""
        warnings = list(loaded.warnings)
        children: list[_Pending] = []
        for item in loaded.attachments:
            key = attached.attachment_key(record.path, item.name)
            child = _record(key, item.sha256, item.size, record.mtime, item.sections)
            try:
                children.append(self._chunked(child, item.sections, "; ".join(item.warnings)))
            except LoaderError as exc:
                warnings.append(f"attachment {item.name}: {exc}")
        parent = self._chunked(record, loaded.sections, "; ".join(warnings))
        kept = {c.record.path for c in children}
        parent.drop = [
            k for k in attached.attachments_of(self._manifest, record.path) if k not in kept
        ]
        return [parent, *children]

    def _chunked(
        self, record: DocumentRecord, sections: Sequence[Section], warning: str = ""
    ) -> _Pending:
        chunks = chunk_sections(
            record.path,
            sections,
            self.embedder,
            self.max_tokens,
            self.overlap,
            max_chunks=limits.CHUNKS_MAX_PER_FILE,
        )
        if not chunks:
            raise LoaderError("no text to index")
        return _Pending(record, chunks, warning)

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
        tokens = self._token_vectors(all_chunks, pending[-1].record.path)
        for item in pending:
            record = DocumentRecord(
                **{
                    **item.record.__dict__,
                    "n_chunks": len(item.chunks),
                    "collection": self.collection,
                }
            )
            matrix = np.stack([known[c.id] for c in item.chunks]).astype(np.float32)
            aligned = [tokens.get(c.id) for c in item.chunks] if self.token_vectors else None
            self.store.replace_document(record, item.chunks, matrix, aligned)
            for key in item.drop:  # an attachment the message no longer carries
                if self.store.remove_document(key):
                    self.report.files.append(FileResult(key, "removed", "no longer attached"))
            self._result(FileResult(record.path, "ingested", item.warning, len(item.chunks)))

    def _token_vectors(self, chunks: Sequence[Chunk], key: str) -> dict[str, bytes]:
        """The reranker vectors of `chunks` by id: stored ones reused, the rest encoded."""
        if self.token_vectors is None:
            return {}
        known = self.store.token_vectors_for([c.id for c in chunks])
        todo = list({c.id: c for c in chunks if c.id not in known}.values())
        if todo:
            self._tick(key, "embed")
            known.update(zip((c.id for c in todo), self.token_vectors(todo), strict=True))
        return known

    def _remove_missing(
        self,
        manifest: dict[str, DocumentRecord],
        roots: list[str],
        seen: set[str],
        kept: tuple[str, ...],
    ) -> None:
        prefixes = tuple(root.rstrip("/") + "/" for root in roots)
        for key in sorted(manifest):
            if key in seen or not key.startswith(prefixes) or key.startswith(kept):
                continue
            if self.store.remove_document(key):  # its attachments are under `prefixes` too
                self.report.files.append(FileResult(key, "removed", "file no longer exists"))

    def _result(self, result: FileResult) -> None:
        self.report.files.append(result)
        self._done += 1
        self._tick(result.path, "done")

    def _tick(self, key: str, stage: Stage, detail: str = "") -> None:
        if self.progress:
            total = max(self._total, self._done)
            self.progress(IngestProgress(self._done, total, key, stage, detail))


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
