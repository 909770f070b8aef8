"""Uploads in the page with PostgreSQL + a blob store are queued, not embedded in the
web process; a worker (in-process here) then indexes them under the same key a direct
ingest would give them."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragstream.app.queued import enqueue_uploads, queues_uploads
from ragstream.errors import AccessDenied
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


def test_a_source_sync_queues_changed_documents_for_the_workers(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_bytes(document(2, 300))
    (docs / "b.txt").write_bytes(document(3, 300))
    for f in docs.iterdir():  # settled files (a sync leaves files still being written)
        os.utime(f, (time.time() - 600, time.time() - 600))
    monkeypatch.setenv("RAGSTREAM_BLOBS", str(tmp_path / "blobs"))
    ws = Workspace.open(workspace=tmp_path / "ws", database_url=postgres_url)
    ws.sources.add(str(docs))
    [first] = ws.sources.sync()
    assert {f.path: f.status for f in first.report.files} == {
        "docs/a.md": "queued", "docs/b.txt": "queued"}  # fmt: skip
    assert ws.documents() == []
    with JobQueue(postgres_url) as queue:
        Worker(queue, open_blobs(str(tmp_path / "blobs")), ws.ingest_blobs, poll=0.05).run(
            until_empty=True
        )
        [second] = ws.sources.sync()  # nothing changed: nothing queued
        assert {f.status for f in second.report.files} == {"unchanged"}
        assert queue.counts()["done"] == 2 and queue.depth() == 0
    assert sorted(indexed_exactly_once(postgres_url)) == ["docs/a.md", "docs/b.txt"]
    ws.close()


def test_a_queued_upload_goes_into_the_chosen_collection_as_its_uploader(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_BLOBS", str(tmp_path / "blobs"))
    ws = Workspace.open(workspace=tmp_path / "ws", database_url=postgres_url)
    ws.accounts.create_collection("hr")
    ws.accounts.grant("hr", "bob", "editor")
    ws.accounts.grant("hr", "alice", "viewer")
    bob, alice = ws.accounts.identity("bob"), ws.accounts.identity("alice")
    with pytest.raises(AccessDenied, match="alice may not change documents in collection hr"):
        enqueue_uploads(ws, [FakeUpload("a.md", document(5, 200))], "hr", alice)
    with pytest.raises(AccessDenied):  # bob only edits hr, not default
        enqueue_uploads(ws, [FakeUpload("d.md", document(6, 200))], "default", bob)
    [row] = enqueue_uploads(ws, [FakeUpload("memo.md", document(7, 200))], "hr", bob)
    assert row.status == "queued"
    with JobQueue(postgres_url) as queue:
        assert queue.counts()["queued"] == 1  # the refused uploads queued nothing
        stats = Worker(queue, open_blobs(str(tmp_path / "blobs")), ws.ingest_blobs, poll=0.05).run(
            until_empty=True
        )
    assert (stats.done, stats.failed) == (1, 0)
    assert {d.path: d.collection for d in ws.documents()} == {"ws/uploads/memo.md": "hr"}
    assert [d.path for d in ws.documents(user=alice)] == ["ws/uploads/memo.md"]  # hr reader
    uploads = [e for e in ws.accounts.audit_log() if e.action == "upload"]
    assert [(e.actor, e.target, e.detail) for e in uploads] == [("bob", "ws/uploads/memo.md", "hr")]
    ws.close()


def test_a_job_whose_collection_was_deleted_is_dead_at_once(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_BLOBS", str(tmp_path / "blobs"))
    ws = Workspace.open(workspace=tmp_path / "ws", database_url=postgres_url)
    ws.accounts.create_collection("tmp")
    enqueue_uploads(ws, [FakeUpload("late.md", document(8, 200))], "tmp")
    ws.accounts.delete_collection("tmp")
    with JobQueue(postgres_url) as queue:
        Worker(queue, open_blobs(str(tmp_path / "blobs")), ws.ingest_blobs, poll=0.05).run(
            until_empty=True
        )
        [job] = queue.jobs()
    assert (
        job.state == "dead" and job.attempts == 1 and "no collection tmp" in (job.last_error or "")
    )
    assert ws.documents() == []
    ws.close()
