"""Uploads in a fleet (the page's and the API's): with PostgreSQL and a blob store
(RAGSTREAM_BLOBS) an upload is checked, its bytes go to the blob store and a job to the
queue, so an ingest worker embeds it and no replica holds a file another one needs.

Jobs carry no collection yet: only uploads into the default collection are queued
(`queues_uploads`); the others are ingested in the web process as on a single host.
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


def queues_uploads(settings: Settings, collection: str = DEFAULT_COLLECTION) -> bool:
    return bool(settings.database_url and blob_location()) and collection == DEFAULT_COLLECTION


def enqueue_uploads(
    settings: Settings, base: Path, files: Sequence[tuple[str, bytes]]
) -> list[FileResult]:
    """Check each file as ingest would, store its bytes, queue a job; one row per file,
    in order. The store's migrations must have run (the job table exists)."""
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
                job = submit(queue, blobs, key, data)
            except RagstreamError as exc:
                rows.append(FileResult(name, "failed", str(exc).split(": ", 1)[-1]))
                continue
            rows.append(FileResult(key, "queued", f"job {job}: an ingest worker indexes it"))
    return rows
