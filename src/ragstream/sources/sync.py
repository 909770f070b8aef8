"""One sync of one source: connector -> ingest -> removals -> state, under the source's lock.

The state file records, per document, the version last indexed. Documents the connector
no longer yields (deleted files, 404 pages, removed objects) leave the index; documents
it could not read this time (a transient error, a file still being written) keep their
previous version. A source-level failure (listing, credentials, start page) removes
nothing and counts towards the backoff (schedule.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ragstream.errors import RagstreamError, SourceError
from ragstream.index.store import Store
from ragstream.ingest.attached import remove_with_attachments
from ragstream.ingest.pipeline import Blob, display_path
from ragstream.ingest.report import FileResult, IngestReport
from ragstream.sources.connector import Connector, Doc
from ragstream.sources.registry import Registry, SourceState
from ragstream.sources.spec import SourceSpec


class BlobIngest(Protocol):
    """An Ingestor, or ragstream.queue's QueueingIngestor (a fleet: workers embed)."""

    def ingest_blobs(self, blobs: Iterable[Blob]) -> IngestReport: ...


@dataclass
class SyncResult:
    name: str
    report: IngestReport = field(default_factory=IngestReport)
    error: str = ""  # the source as a whole failed (nothing removed)
    busy: bool = False  # another sync of this source was running: skipped
    pending: int = 0  # files still being written: looked at again on the next sync

    @property
    def ok(self) -> bool:
        return not self.error and not self.busy

    def summary(self) -> str:
        if self.busy:
            return f"{self.name}: skipped, another sync of it is running"
        if self.error:
            return f"{self.name}: failed: {self.error}"
        counts = ", ".join(
            f"{self.report.count(s)} {s}"
            for s in ("ingested", "unchanged", "removed", "failed", "skipped")
            if self.report.count(s)
        )
        more = f", {self.pending} still being written" if self.pending else ""
        return f"{self.name}: {counts or 'no documents'}{more} in {self.report.seconds:.1f}s"


@dataclass
class Syncer:
    registry: Registry
    store: Store
    make_ingestor: Callable[[], BlobIngest]
    base: Path  # documents of folder sources are keyed relative to this (like `ingest`)
    max_bytes: int
    skip: Path | None = None  # the workspace directory: never a document
    settle: float = 1.0
    connectors: dict[str, Callable[[SourceSpec], Connector]] = field(default_factory=dict)

    def connector(self, spec: SourceSpec) -> Connector:
        if spec.kind in self.connectors:
            return self.connectors[spec.kind](spec)
        if spec.kind == "folder":
            from ragstream.sources.folder import FolderConnector

            root_key = display_path(Path(spec.location), self.base.resolve())
            return FolderConnector(spec, root_key, skip=self.skip, settle=self.settle)
        if spec.kind == "web":
            from ragstream.sources.web import WebConnector

            return WebConnector(spec, self.max_bytes)
        from ragstream.sources.s3 import S3Connector

        return S3Connector(spec, self.max_bytes)

    def sync(self, spec: SourceSpec) -> SyncResult:
        with self.registry.sync_lock(spec.name) as held:
            if not held:
                return SyncResult(spec.name, busy=True)
            state = self.registry.state(spec.name)
            started = time.perf_counter()
            result = SyncResult(spec.name)
            try:
                result = self._run(spec, state)
                state.consecutive_failures = 0
            except RagstreamError as exc:  # the source, or the store under it, failed
                result.error = str(exc)
                state.consecutive_failures += 1
            result.report.seconds = time.perf_counter() - started
            state.last_sync = time.time()
            state.last_ok = not result.error
            state.last_error = result.error
            state.seconds = round(result.report.seconds, 3)
            if not result.error:
                files = result.report.files
                state.counts = {s: result.report.count(s) for s in {f.status for f in files}}
                state.failures = [f"{f.path}: {f.reason}" for f in result.report.failed]
            self.registry.save_state(spec.name, state)
            return result

    def _run(self, spec: SourceSpec, state: SourceState) -> SyncResult:
        in_index = {d.path for d in self.store.documents()}
        known = {k: v for k, v in state.docs.items() if k in in_index}
        kept: dict[str, dict[str, Any]] = {}  # the next state's documents
        staged: dict[str, dict[str, Any]] = {}  # read this time, recorded once ingested
        results: list[FileResult] = []
        result = SyncResult(spec.name)

        def blobs(docs: Iterator[Doc]) -> Iterator[Blob]:
            for doc in docs:
                if doc.pending:
                    result.pending += 1
                    if doc.key in state.docs:
                        kept[doc.key] = state.docs[doc.key]
                elif doc.error:
                    results.append(FileResult(doc.key, "failed", doc.error))
                    if not doc.gone and doc.key in state.docs:
                        kept[doc.key] = state.docs[doc.key]
                elif doc.data is None:
                    kept[doc.key] = {**doc.extra, "version": doc.version}
                    results.append(FileResult(doc.key, "unchanged"))
                else:
                    extra = dict(doc.extra)
                    mtime = float(extra.pop("mtime", 0.0))
                    staged[doc.key] = {**extra, "version": doc.version}
                    yield Blob(doc.key, doc.suffix, doc.data, mtime)

        report = self.make_ingestor().ingest_blobs(blobs(self.connector(spec).scan(known)))
        for f in report.files:
            # queued: a worker indexes it; a job that dies shows in `ragstream jobs`
            if f.status in ("ingested", "unchanged", "queued") and f.path in staged:
                kept[f.path] = staged[f.path]
            elif f.path in state.docs and f.path not in kept:
                kept[f.path] = state.docs[f.path]  # failed to load: the old one stays
        for key in sorted(set(state.docs) - set(kept)):
            if remove_with_attachments(self.store, key):
                results.append(FileResult(key, "removed", "no longer in the source"))
        state.docs = kept
        result.report = IngestReport(
            files=results + report.files, chunks_embedded=report.chunks_embedded
        )
        return result

    def remove_documents(self, name: str) -> int:
        """Take every document of source NAME out of the index (before removing it)."""
        with self.registry.sync_lock(name) as held:
            if not held:
                raise SourceError(f"source {name!r} is syncing right now; try again in a moment")
            state = self.registry.state(name)
            return sum(1 for key in state.docs if remove_with_attachments(self.store, key))
