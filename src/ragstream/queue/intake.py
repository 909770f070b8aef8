"""Uploads in a fleet (the page's and the API's): with PostgreSQL and a blob store
(RAGSTREAM_BLOBS) an upload is checked, its bytes go to the blob store and a job to the
queue, so an ingest worker embeds it and no replica holds a file another one needs.

A job carries the collection its document goes into and who queued it (the caller has
checked they may write there; the worker trusts the job and audits the upload as them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ragstream import uploads
from ragstream.config import Settings
from ragstream.errors import RagstreamError
from ragstream.ingest.pipeline import DEFAULT_COLLECTION, display_path
from ragstream.ingest.report import FileResult
from ragstream.queue.blobs import blob_location


def queues_uploads(settings: Settings) -> bool:
    return bool(settings.database_url and blob_location())


def enqueue_uploads(
    settings: Settings,
    base: Path,
    files: Sequence[tuple[str, bytes]],
    *,
    collection: str = DEFAULT_COLLECTION,
    queued_by: str = "",
) -> list[FileResult]:
    """Check each file as ingest would, store its bytes, queue a job for `collection`;
    one row per file, in order. The store's migrations must have run (the job table
    exists), and the caller has checked `queued_by` may write to `collection`."""
    from ragstream.queue.blobs import open_blobs
    from ragstream.queue.jobs import JobQueue
    from ragstream.queue.submit import submit

    assert settings.database_url
    blobs = open_blobs(blob_location())
    rows = []
    with JobQueue(settings.database_url) as queue:
        for name, data in files:
            # the key a direct ingest of the saved upload would give it
            key = display_path(uploads.uploads_dir(settings) / uploads.safe_name(name), base)
            try:
                uploads.check_upload(name, len(data), settings.max_file_bytes)
                job = submit(queue, blobs, key, data, collection=collection, queued_by=queued_by)
            except RagstreamError as exc:
                rows.append(FileResult(name, "failed", str(exc).split(": ", 1)[-1]))
                continue
            rows.append(FileResult(key, "queued", f"job {job}: an ingest worker indexes it"))
    return rows
