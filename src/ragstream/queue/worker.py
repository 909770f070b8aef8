"""What `ragstream worker` runs: claim a job, read its bytes, ingest, record the outcome.

Bytes come from the blob store, never from a local path, so any worker on any host can
take any job. The document write is the store's one atomic `replace_document` (keyed by
the document, under the store's per-path lock), so a job run again after a crash leaves
the document indexed once, not twice. A heartbeat thread keeps the lease alive while a
long document embeds. SIGTERM (ECS stopping a task) lets the current job finish first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol

from ragstream.errors import AccessDenied, RagstreamError
from ragstream.ingest.pipeline import Blob
from ragstream.ingest.report import IngestReport
from ragstream.queue.blobs import BlobStore
from ragstream.queue.jobs import Job, JobQueue

log = logging.getLogger(__name__)


class IngestBlobs(Protocol):
    """Workspace.ingest_blobs: index blobs into a collection, audited as `queued_by`."""

    def __call__(
        self, blobs: Iterable[Blob], *, collection: str = ..., queued_by: str | None = ...
    ) -> IngestReport: ...


class PermanentFailure(RagstreamError):
    """Retrying cannot help (the document is unreadable): straight to the dead letter."""


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    chunks: int = 0
    seconds_working: float = 0.0
    outcomes: list[str] = field(default_factory=list)


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        blobs: BlobStore,
        ingest: IngestBlobs,
        *,
        name: str | None = None,
        visibility: float = 300.0,
        poll: float = 2.0,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.blobs = blobs
        self.ingest = ingest
        self.name = name or default_name()
        self.visibility = visibility
        self.poll = poll
        self.stats = WorkerStats()
        self.tick = tick or (lambda: None)  # e.g. publish the queue depth
        self._stop = threading.Event()

    def stop(self, *_: object) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("worker %s: signal %d, stopping after the current job", self.name, signum)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, *, max_jobs: int | None = None, until_empty: bool = False) -> WorkerStats:
        """Process jobs until stopped (or `max_jobs` done, or the queue is empty)."""
        handled = 0
        log.info("worker %s: waiting for jobs", self.name)
        while not self._stop.is_set() and (max_jobs is None or handled < max_jobs):
            self.tick()
            job = self.queue.claim(self.name, self.visibility)
            if job is None:
                if until_empty and self.queue.depth() == 0:
                    break
                self._stop.wait(self.poll)
                continue
            self.process(job)
            handled += 1
        return self.stats

    def process(self, job: Job) -> str:
        started = time.perf_counter()
        beat = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(job, beat), daemon=True)
        heart.start()
        try:
            n_chunks = self._ingest(job)
        except PermanentFailure as exc:
            outcome = self.queue.fail(job, str(exc), permanent=True)
        except Exception as exc:  # anything else may pass: retried with backoff
            message = str(exc) if isinstance(exc, RagstreamError) else repr(exc)
            outcome = self.queue.fail(job, message)
        else:
            self.queue.finish(job, n_chunks)
            outcome = "done"
            self.stats.chunks += n_chunks
        finally:
            beat.set()
            heart.join()
        self.stats.seconds_working += time.perf_counter() - started
        self.stats.done += outcome == "done"
        self.stats.failed += outcome != "done"
        self.stats.outcomes.append(outcome)
        log.info("worker %s: job %d %s -> %s", self.name, job.id, job.doc_key, outcome)
        return outcome

    def _ingest(self, job: Job) -> int:
        data = self.blobs.get(job.blob)
        if hashlib.sha256(data).hexdigest() != job.sha256:
            raise PermanentFailure(f"blob {job.blob} does not hold the bytes queued for it")
        blob = Blob(job.doc_key, job.suffix, data, job.mtime)
        try:
            report = self.ingest([blob], collection=job.collection, queued_by=job.queued_by or None)
        except AccessDenied as exc:  # its collection was deleted since: retrying cannot help
            raise PermanentFailure(f"{job.doc_key}: {exc}") from None
        result = report.files[0]
        if result.status in ("failed", "skipped"):
            raise PermanentFailure(f"{job.doc_key}: {result.reason}")
        return result.n_chunks

    def _heartbeat(self, job: Job, done: threading.Event) -> None:
        while not done.wait(self.visibility / 3):
            try:
                if not self.queue.extend(job, self.visibility):
                    log.warning("worker %s: job %d is no longer leased to it", self.name, job.id)
            except RagstreamError as exc:
                log.warning("worker %s: heartbeat for job %d failed: %s", self.name, job.id, exc)
