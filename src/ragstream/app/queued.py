"""Uploads in a fleet: with PostgreSQL and a blob store (RAGSTREAM_BLOBS), the page
queues each upload for the ingest workers instead of embedding in the web process, so
no replica holds a file another replica or a worker needs."""

from __future__ import annotations

from typing import Protocol

from ragstream import uploads
from ragstream.access import Identity, actor
from ragstream.errors import RagstreamError
from ragstream.ingest.pipeline import DEFAULT_COLLECTION, display_path
from ragstream.ingest.report import FileResult
from ragstream.queue.blobs import blob_location
from ragstream.workspace import Workspace


class Upload(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


def queues_uploads(workspace: Workspace) -> bool:
    return bool(workspace.settings.database_url and blob_location())


def enqueue_uploads(
    workspace: Workspace,
    files: list[Upload],
    collection: str = DEFAULT_COLLECTION,
    user: Identity | None = None,
) -> list[FileResult]:
    """Check each file as ingest would, store its bytes, queue a job for `collection`;
    one row per file. `user` must be an editor of it now (the worker trusts the job)."""
    from ragstream.queue.blobs import open_blobs
    from ragstream.queue.jobs import JobQueue
    from ragstream.queue.submit import submit

    settings = workspace.settings
    assert settings.database_url
    workspace.accounts.require(user, "write", collection)
    _ = workspace.store  # migrations: the job table exists before the first upload
    blobs = open_blobs(blob_location())
    rows = []
    with JobQueue(settings.database_url) as queue:
        for file in files:
            data = file.getvalue()
            # the key a direct ingest of the saved upload would give it
            saved_as = uploads.uploads_dir(settings) / uploads.safe_name(file.name)
            key = display_path(saved_as, workspace.base)
            try:
                uploads.check_upload(file.name, len(data), settings.max_file_bytes)
                job = submit(queue, blobs, key, data, collection=collection, queued_by=actor(user))
            except RagstreamError as exc:
                rows.append(FileResult(file.name, "failed", str(exc).split(": ", 1)[-1]))
                continue
            rows.append(FileResult(key, "queued", f"job {job}: an ingest worker indexes it"))
    return rows
