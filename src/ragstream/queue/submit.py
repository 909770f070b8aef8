"""Enqueue documents: bytes to the blob store, a job to the queue (what an upload does
on a replica instead of embedding in the web process)."""

from __future__ import annotations

import hashlib
from pathlib import PurePath

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
) -> int:
    """Store the bytes first, then queue the job: a worker never sees a job without them."""
    suffix = PurePath(doc_key).suffix.lower()
    blob = blobs.put(data, suffix)
    sha = hashlib.sha256(data).hexdigest()
    return queue.enqueue(doc_key, blob, suffix, sha, mtime, max_attempts)
