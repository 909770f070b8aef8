"""The store contract bound to SQLite, plus what only SQLite has: WAL, crash safety."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragstream.errors import DamagedIndex, StoreError
from ragstream.index.sqlite import SqliteStore, fts_query
from tests.index.access_contract import AccessContract
from tests.index.store_contract import CORPUS, StoreContract, StoreFactory, make_doc, unit
from tests.index.token_vectors_contract import TokenVectorsContract


@pytest.fixture
def store_factory(tmp_path: Path) -> Iterator[StoreFactory]:
    opened: list[SqliteStore] = []

    def factory() -> SqliteStore:
        opened.append(SqliteStore(tmp_path / "index.sqlite"))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


class TestSqliteStore(StoreContract, AccessContract, TokenVectorsContract):
    pass


def test_fts_query_quotes_and_ors_words() -> None:
    assert fts_query('How do I "rotate" the key?') == '"rotate" OR "key"'
    assert fts_query("the") == '"the"'
    assert fts_query("*** ()") == ""
    assert fts_query("Key key KEY") == '"key"'


def test_a_query_of_only_common_words_still_matches(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.replace_document(*make_doc("a.md", ["the cat", "a dog"]))
    [(cid, _)] = store.keyword_search("the", 10)
    assert store.chunks([cid])[0].text == "the cat"


def test_wal_mode(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert isinstance(store, SqliteStore)
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_search_runs_while_another_connection_writes(store_factory: StoreFactory) -> None:
    writer, reader = store_factory(), store_factory()
    assert isinstance(writer, SqliteStore)
    writer.replace_document(*make_doc("a.md", ["alpha text"], seed=1))
    with writer._write() as conn:  # an open write transaction, as during an ingest
        conn.execute("DELETE FROM chunks")
        assert reader.keyword_search("alpha", 5)  # sees the last committed state
        assert len(reader.dense_search(unit(1), 5)) == 1
    assert reader.keyword_search("alpha", 5) == []


def test_unusable_file_is_a_one_line_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "index.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DamagedIndex, match=r"index\.sqlite: the index is damaged") as info:
        SqliteStore(bad)
    assert "\n" not in str(info.value) and "ragstream doctor" in str(info.value)
    with pytest.raises(StoreError, match="opening the index failed"):
        SqliteStore(tmp_path / "missing-dir" / "index.sqlite")


CRASHING_WRITER = """
import os, signal, sys
import numpy as np
from ragstream.index.sqlite import SqliteStore
from tests.index.store_contract import make_doc

store = SqliteStore(sys.argv[1])
real = store._conn

class DieAfterInsert:  # kill -9 after the new chunks are written, before COMMIT
    def __getattr__(self, name):
        return getattr(real, name)
    def execute(self, sql, *args):
        if sql.startswith("INSERT OR REPLACE INTO documents"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real.execute(sql, *args)

store._conn = DieAfterInsert()
store.replace_document(*make_doc("docs/keys.md", ["brand new words"] * 1, seed=8))
"""


def test_kill_9_mid_replace_leaves_the_old_document(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = store_factory()
    for seed, (path, texts) in enumerate(CORPUS.items()):
        store.replace_document(*make_doc(path, texts, seed))
    before = (store.documents(), store.count_chunks())
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_WRITER), str(tmp_path / "index.sqlite")],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == -signal.SIGKILL, result.stderr
    after = store_factory()
    assert (after.documents(), after.count_chunks()) == before
    assert after.keyword_search("brand new words", 5) == []
    assert after.keyword_search("ninety", 5)
    integrity = sqlite3.connect(tmp_path / "index.sqlite").execute(
        "INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)"
    )
    assert integrity is not None  # raises sqlite3.DatabaseError if the FTS index is corrupt


def test_vector_cache_reloads_only_after_a_write(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert isinstance(store, SqliteStore)
    store.replace_document(*make_doc("a.md", ["one", "two"], seed=1))
    store.dense_search(unit(1), 2)
    cached = store._matrix
    store.dense_search(unit(2), 2)
    assert store._matrix is cached
    store.replace_document(*make_doc("b.md", ["three"], seed=2))
    assert len(store.dense_search(unit(2), 5)) == 3
    assert store._matrix is not cached
    np.testing.assert_array_equal(store._matrix.dense.vectors.shape, (3, 8))  # type: ignore[union-attr]


def test_an_index_file_from_before_line_ranges_gains_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, path TEXT NOT"
        " NULL, text TEXT NOT NULL, ordinal INTEGER NOT NULL, page INTEGER, title TEXT,"
        ' section_index INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,'
        " n_tokens INTEGER NOT NULL, vector BLOB NOT NULL);"
    )
    conn.close()
    store = SqliteStore(path)
    try:
        store.replace_document(*make_doc("notes/cooking.txt", CORPUS["notes/cooking.txt"]))
        _, chunks, _ = make_doc("notes/cooking.txt", CORPUS["notes/cooking.txt"])
        assert store.chunks([chunks[1].id])[0].line_start == 4
    finally:
        store.close()
