"""Uploads through the HTTP API in a fleet are queued like the page's: the web process
answers `queued` (413/415 reasons as on one host) and a worker indexes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.api.service import Service
from ragstream.queue.blobs import open_blobs
from ragstream.queue.jobs import JobQueue
from ragstream.queue.worker import Worker
from ragstream.workspace import Workspace
from tests.queue.fleet import document, indexed_exactly_once

pytestmark = pytest.mark.postgres


def test_api_uploads_are_queued_in_a_fleet_then_indexed_by_a_worker(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_BLOBS", str(tmp_path / "blobs"))
    ws = Workspace.open(workspace=tmp_path / "ws", database_url=postgres_url)
    service = Service(ws)
    results = service.upload([("a.md", document(1, 300)), ("evil.exe", b"MZ"),
                              ("empty.md", b"")])  # fmt: skip
    assert [(r.name, r.status, r.path, r.status_code) for r in results] == [
        ("a.md", "queued", "ws/uploads/a.md", 200),
        ("evil.exe", "failed", "", 415),
        ("empty.md", "failed", "", 400),
    ]
    assert ws.documents() == []  # nothing embedded in the web process
    assert not (tmp_path / "ws" / "uploads").exists()  # nor kept on this replica's disk
    with JobQueue(postgres_url) as queue:
        stats = Worker(queue, open_blobs(str(tmp_path / "blobs")), ws.ingest_blobs).run(
            until_empty=True
        )
    assert (stats.done, stats.failed) == (1, 0)
    assert list(indexed_exactly_once(postgres_url)) == ["ws/uploads/a.md"]
    assert [d.path for d in service.documents()] == ["ws/uploads/a.md"]
    ws.close()


def test_api_uploads_into_another_collection_are_queued_for_it(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_BLOBS", str(tmp_path / "blobs"))
    ws = Workspace.open(workspace=tmp_path / "ws", database_url=postgres_url)
    ws.accounts.create_collection("team")
    [result] = Service(ws).upload([("b.md", document(2, 200))], collection="team")
    assert (result.status, result.path) == ("queued", "ws/uploads/b.md")
    assert ws.documents() == []
    with JobQueue(postgres_url) as queue:
        Worker(queue, open_blobs(str(tmp_path / "blobs")), ws.ingest_blobs).run(until_empty=True)
    assert [(d.path, d.collection) for d in ws.documents()] == [("ws/uploads/b.md", "team")]
    ws.close()
