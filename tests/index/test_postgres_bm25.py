"""PostgreSQL keyword search on its postings tables: ranks like SQLite's FTS5, kept in step
by every write, built for databases made by migration 1, run on a connection of its own."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.errors import StoreError
from ragstream.index.pg_migrations import MIGRATIONS, VERSIONS
from ragstream.index.postgres import PostgresStore
from ragstream.index.sqlite import SqliteStore
from ragstream.index.store import Candidates
from ragstream.models import Chunk, DocumentRecord
from tests.index.store_contract import DIM, assert_frequencies_match_postings, unit

pytestmark = pytest.mark.postgres
DATA = Path(__file__).parents[2] / "bench" / "data"
PER_DOC = 20


def faq_documents(count: int) -> list[tuple[DocumentRecord, list[Chunk], np.ndarray]]:
    """`count` chunks of real FAQ text (sentence windows), 20 to a document, in two folders."""
    windows: list[str] = []
    for line in (DATA / "faq-en" / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        sentences = re.split(r"(?<=[.!?])\s+", json.loads(line)["text"])
        windows += [" ".join(sentences[i : i + 2]) for i in range(len(sentences))]
    # ASCII only: PostgreSQL's parser splits "m²" where unicode61 keeps it whole
    windows = [w for w in windows if w.isascii()]
    docs = []
    for start in range(0, count, PER_DOC):
        path = f"{'ab'[start // PER_DOC % 2]}/doc-{start // PER_DOC:03d}.txt"
        texts = windows[start : start + PER_DOC]
        chunks = [
            Chunk(id=f"{path}#{i}", path=path, text=text, ordinal=i, title=f"Part {i % 3}")
            for i, text in enumerate(texts)
        ]
        vectors = np.stack([unit(start + i) for i in range(len(texts))])
        docs.append((DocumentRecord(path, f"sha-{path}", 1, 0.0, len(texts), None, 0.0),
                     chunks, vectors))  # fmt: skip
    return docs


def questions(count: int) -> list[str]:
    lines = (DATA / "faq-en" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:count]]


def assert_same_candidates(got: Candidates, want: Candidates, context: object) -> None:
    """Same scores in the same order; ids equal but for the order within exact ties and
    which members of a tie the cut at k kept."""
    assert len(got) == len(want), context
    for (_, g), (_, w) in zip(got, want, strict=True):
        assert g == pytest.approx(w, rel=1e-4, abs=1e-6), context  # as test_postgres_ops
    last = round(want[-1][1], 5) if want else None
    groups: dict[float, tuple[set[str], set[str]]] = {}
    for (gid, _), (wid, w) in zip(got, want, strict=True):
        group = groups.setdefault(round(w, 5), (set(), set()))
        group[0].add(gid)
        group[1].add(wid)
    for key, (got_ids, want_ids) in groups.items():
        if key != last:
            assert got_ids == want_ids, (context, key)


@pytest.fixture
def filled(postgres_url: str, tmp_path: Path) -> tuple[PostgresStore, SqliteStore]:
    pg, lite = PostgresStore(postgres_url), SqliteStore(tmp_path / "index.sqlite")
    for store in (pg, lite):
        store.set_meta({"embedder": "test", "dim": str(DIM)})
        for doc in faq_documents(400):
            store.replace_document(*doc)
    return pg, lite


def test_keyword_search_ranks_like_fts5_on_real_text(
    filled: tuple[PostgresStore, SqliteStore],
) -> None:
    pg, lite = filled
    for query in questions(40):
        for k, glob in ((1, None), (5, None), (10, "a/*"), (50, None)):
            want = lite.keyword_search(query, k, glob)
            assert want, (query, k, glob)
            assert_same_candidates(pg.keyword_search(query, k, glob), want, (query, k, glob))


def test_postings_and_document_frequencies_follow_every_write(
    filled: tuple[PostgresStore, SqliteStore],
) -> None:
    pg, lite = filled
    record, chunks, vectors = faq_documents(40)[1]
    replaced = [Chunk(**{**c.__dict__, "id": c.id + "v2", "text": c.text + " gravel"})
                for c in chunks[:5]]  # fmt: skip
    for store in (pg, lite):
        store.replace_document(record, replaced, vectors[:5])
        store.remove_document("a/doc-002.txt")
    assert_frequencies_match_postings(pg)
    assert pg._read("SELECT count(*) FROM postings WHERE chunk_id LIKE 'a/doc-002.txt#%%'") == [
        (0,)
    ]
    for query in ["gravel foundation", *questions(10)]:
        assert_same_candidates(pg.keyword_search(query, 10), lite.keyword_search(query, 10), query)


RELEASE_1_CHUNK_COLUMNS = (
    'id, path, text, ordinal, page, title, section_index, start, "end", n_tokens'
)


def test_a_database_made_by_migration_1_is_migrated_with_its_chunks(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = faq_documents(60)
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # what release 1 wrote
        conn.execute("CREATE EXTENSION vector")
        conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")  # fmt: skip
        conn.execute(MIGRATIONS[0][1].encode())
        conn.execute("INSERT INTO schema_migrations(version) VALUES (1)")
        conn.execute("INSERT INTO meta VALUES ('embedder', 'test'), ('dim', %s)", (str(DIM),))
        for record, chunks, vectors in docs:
            conn.execute("INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (record.path, record.sha256, record.size, record.mtime,
                          record.n_chunks, record.n_pages, record.ingested_at))  # fmt: skip
            for c, v in zip(chunks, vectors, strict=True):
                conn.execute(
                    f"INSERT INTO chunks ({RELEASE_1_CHUNK_COLUMNS}, embedding) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::vector)",
                    (c.id, c.path, c.text, c.ordinal, c.page, c.title, c.section_index,
                     c.start, c.end, c.n_tokens, str(v.tolist())),
                )  # fmt: skip
        conn.execute("UPDATE corpus_stats SET n_chunks = (SELECT count(*) FROM chunks), "
                     "n_tokens = (SELECT sum(dl) FROM chunks)")  # fmt: skip
    with pytest.raises(StoreError, match=r"schema is at version 1.*run 'ragstream migrate'"):
        PostgresStore(postgres_url, migrate=False)
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", postgres_url)
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    later = ", ".join(str(n) for n in sorted(VERSIONS - {1}))
    assert f"applied migration(s) {later};" in result.output
    migrated = PostgresStore(postgres_url, migrate=False)
    assert_frequencies_match_postings(migrated)
    fresh_url = postgres_url.rsplit("/", 1)[0] + "/postgres"  # written by this release
    with psycopg.connect(fresh_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bm25_fresh WITH (FORCE)")
        conn.execute("CREATE DATABASE bm25_fresh")
    fresh = PostgresStore(fresh_url.rsplit("/", 1)[0] + "/bm25_fresh")
    fresh.set_meta({"embedder": "test", "dim": str(DIM)})
    for doc in docs:
        fresh.replace_document(*doc)
    for query in questions(20):
        got, want = migrated.keyword_search(query, 10), fresh.keyword_search(query, 10)
        assert [cid for cid, _ in got] == [cid for cid, _ in want], query
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12), query
    migrated.replace_document(*faq_documents(80)[3])  # and it keeps working as usual
    assert_frequencies_match_postings(migrated)
    migrated.vacuum()  # planner statistics for the new tables, as autovacuum would make
    analysed = "SELECT count(DISTINCT tablename) FROM pg_stats WHERE tablename = ANY(%s)"
    assert migrated._read(analysed, (["postings", "term_stats", "corpus_stats"],)) == [(3,)]
    for store in (migrated, fresh):
        store.close()
    with psycopg.connect(fresh_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE bm25_fresh WITH (FORCE)")


def test_keyword_search_does_not_wait_for_the_other_connection(postgres_url: str) -> None:
    """The retriever overlaps keyword and dense search: a busy main connection (here a
    2 s statement) must not hold keyword search back."""
    store = PostgresStore(postgres_url)
    store.set_meta({"embedder": "test", "dim": str(DIM)})
    store.replace_document(*faq_documents(20)[0])
    busy = threading.Thread(target=store._read, args=("SELECT pg_sleep(2)",))
    busy.start()
    time.sleep(0.2)
    hits = store.keyword_search("building permit", 5)
    still_busy = busy.is_alive()
    busy.join()
    assert hits and still_busy
    store.close()
