"""Uploads in a fleet: with PostgreSQL and a blob store (RAGSTREAM_BLOBS), the page
queues each upload for the ingest workers instead of embedding in the web process
(the rule lives in queue/intake.py, shared with the API)."""

from __future__ import annotations

from typing import Protocol

from ragstream.access import Identity, actor
from ragstream.ingest.pipeline import DEFAULT_COLLECTION
from ragstream.ingest.report import FileResult
from ragstream.queue import intake
from ragstream.workspace import Workspace


class Upload(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


def queues_uploads(workspace: Workspace) -> bool:
    return intake.queues_uploads(workspace.settings)


def enqueue_uploads(
    workspace: Workspace,
    files: list[Upload],
    collection: str = DEFAULT_COLLECTION,
    user: Identity | None = None,
) -> list[FileResult]:
    """Check each file as ingest would, store its bytes, queue a job for `collection`;
    one row per file. `user` must be an editor of it now (the worker trusts the job)."""
    workspace.accounts.require(user, "write", collection)
    _ = workspace.store  # migrations: the job table exists before the first upload
    pairs = [(f.name, f.getvalue()) for f in files]
    return intake.enqueue_uploads(
        workspace.settings, workspace.base, pairs, collection=collection, queued_by=actor(user)
    )
