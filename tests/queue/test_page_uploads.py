"""Uploads in the page with PostgreSQL + a blob store are queued, not embedded in the
web process; a worker (in-process here) then indexes them under the same key a direct
ingest would give them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ragstream.app.queued import enqueue_uploads, queues_uploads
from ragstream.queue.blobs import open_blobs
from ragstream.queue.jobs import JobQueue
from ragstream.queue.worker import Worker
from ragstream.workspace import Workspace
from tests.queue.fleet import document, indexed_exactly_once

pytestmark = pytest.mark.postgres


@dataclass
class FakeUpload:  # what Streamlit's UploadedFile offers the page
    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def test_page_uploads_are_queued_then_indexed_by_a_worker(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.open(workspace=tmp_path / "ws", database_url=postgres_url)
    assert not queues_uploads(ws)  # no blob store: the page ingests itself, as before
    monkeypatch.setenv("RAGSTREAM_BLOBS", str(tmp_path / "blobs"))
    assert queues_uploads(ws)
    rows = enqueue_uploads(ws, [FakeUpload("Notes 1.md", document(1, 300)),
                                FakeUpload("evil.exe", b"MZ")])  # fmt: skip
    assert [(r.path, r.status) for r in rows] == [("ws/uploads/Notes 1.md", "queued"),
                                                  ("evil.exe", "failed")]  # fmt: skip
    assert "is not supported" in rows[1].reason
    assert ws.documents() == []  # nothing embedded in the web process
    with JobQueue(postgres_url) as queue:
        worker = Worker(queue, open_blobs(str(tmp_path / "blobs")), ws.ingest_blobs, poll=0.05)
        stats = worker.run(until_empty=True)
    assert (stats.done, stats.failed) == (1, 0)
    assert list(indexed_exactly_once(postgres_url)) == ["ws/uploads/Notes 1.md"]
    ws.close()
