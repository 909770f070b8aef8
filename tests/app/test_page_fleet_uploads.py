"""The page in a fleet (PostgreSQL + RAGSTREAM_BLOBS) queues uploads instead of
embedding them: the job carries the picked collection and the uploader, and a worker
indexes the document into that collection (AppTest on the real script)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.app import auth
from ragstream.queue.blobs import open_blobs
from ragstream.queue.jobs import JobQueue
from ragstream.queue.worker import Worker
from ragstream.workspace import Workspace
from tests.app.page_helpers import page, texts, upload

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse"


def test_an_editor_s_upload_is_queued_for_the_picked_collection(
    env: Path, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_PASSWORD", PASSWORD)
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", postgres_url)
    monkeypatch.setenv("RAGSTREAM_BLOBS", str(tmp_path / "blobs"))
    with Workspace.open(workspace=env, database_url=postgres_url) as ws:
        ws.accounts.create_collection("hr")
        ws.accounts.grant("hr", "bob", "editor")
        ws.accounts.grant("default", "bob", "viewer")
    monkeypatch.setattr(auth, "gateway_user", lambda: "bob")
    at = page()
    assert len(at.sidebar.file_uploader) == 0  # All -> default, where bob only reads
    at.selectbox(key="collection").select("hr")
    at = upload(at.run(), "memo.md", b"# Memo\n\nThe hr memo says hello to the team.\n")
    assert not at.exception and "memo.md** queued" in texts(at)
    with Workspace.open(workspace=env, database_url=postgres_url) as ws:
        assert ws.documents() == []  # nothing embedded in the web process
        with JobQueue(postgres_url) as queue:
            Worker(queue, open_blobs(str(tmp_path / "blobs")), ws.ingest_blobs, poll=0.05).run(
                until_empty=True
            )
        assert [(d.path, d.collection) for d in ws.documents()] == [("ws/uploads/memo.md", "hr")]
        [entry] = [e for e in ws.accounts.audit_log() if e.action == "upload"]
        assert (entry.actor, entry.detail) == ("bob", "hr")
