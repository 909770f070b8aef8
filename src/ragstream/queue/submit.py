"""Enqueue documents: bytes to the blob store, a job to the queue (what an upload does
on a replica instead of embedding in the web process)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import PurePath

from ragstream.ingest.pipeline import Blob
from ragstream.ingest.report import FileResult, IngestReport
from ragstream.queue.blobs import BlobStore
from ragstream.queue.jobs import JobQueue


def submit(
    queue: JobQueue,
    blobs: BlobStore,
    doc_key: str,
    data: bytes,
    *,
    mtime: float = 0.0,
    max_attempts: int = 5,
    collection: str = "default",
    queued_by: str = "",
) -> int:
    """Store the bytes first, then queue the job: a worker never sees a job without them.
    The worker indexes it into `collection`; the caller has checked `queued_by` may."""
    suffix = PurePath(doc_key).suffix.lower()
    blob = blobs.put(data, suffix)
    sha = hashlib.sha256(data).hexdigest()
    return queue.enqueue(
        doc_key, blob, suffix, sha, mtime, max_attempts, collection=collection, queued_by=queued_by
    )


class QueueingIngestor:
    """Ingestor-shaped (`ingest_blobs`), but queues each document for the workers: what
    a source sync uses in a fleet instead of embedding in the syncing process."""

    def __init__(self, url: str, blobs: BlobStore) -> None:
        self.url = url
        self.blobs = blobs

    def ingest_blobs(self, blobs: Iterable[Blob]) -> IngestReport:
        report = IngestReport()
        with JobQueue(self.url) as queue:
            for blob in blobs:
                job = submit(queue, self.blobs, blob.key, blob.data, mtime=blob.mtime)
                report.files.append(FileResult(blob.key, "queued", f"job {job}"))
        return report
