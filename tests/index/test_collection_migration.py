"""An index made before collections is upgraded in place: every document lands in
`default`, nothing is re-embedded, and keyword, dense and path-filtered rankings are
identical to the ones the same index gave before the upgrade (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ragstream.index.postgres import PostgresStore
from ragstream.index.sqlite import SqliteStore
from ragstream.index.store import Store
from tests.index.store_contract import DIM, make_doc, unit

QUERIES = ["gear oil", "rotate key", "pasta", "turbine blade speed", "salt water gear"]
WORDS = [
    "gear",
    "oil",
    "rotate",
    "key",
    "pasta",
    "turbine",
    "blade",
    "speed",
    "salt",
    "water",
    "vault",
    "install",
]


def _fill(store: Store) -> None:
    store.set_meta({"embedder": "test", "dim": str(DIM)})
    rng = np.random.default_rng(7)
    for d in range(30):
        texts = [" ".join(rng.choice(WORDS, 6)) for _ in range(4)]
        store.replace_document(*make_doc(f"dir{d % 3}/doc{d}.md", texts, seed=d))


def _rankings(store: Store) -> list[list[tuple[str, float]]]:
    out = [store.keyword_search(q, 10) for q in QUERIES]
    out += [store.keyword_search(q, 10, path_glob="dir1/*") for q in QUERIES]
    out += [store.dense_search(unit(s), 10) for s in range(5)]
    out += [store.dense_search(unit(s), 10, path_glob="dir2/*") for s in range(5)]
    return out


def _assert_same(got: list, want: list) -> None:
    for g, w in zip(got, want, strict=True):
        assert [cid for cid, _ in g] == [cid for cid, _ in w]
        assert [s for _, s in g] == pytest.approx([s for _, s in w], rel=1e-9)


def _check_migrated(store: Store, before: list) -> None:
    _assert_same(_rankings(store), before)
    assert {d.collection for d in store.documents()} == {"default"}
    [info] = store.collections()
    assert (info.name, info.documents, info.chunks) == ("default", 30, 120)
    assert len(store.dense_search(unit(1), 200, collections=["default"])) == 120


def test_sqlite_index_of_schema_2_is_upgraded_with_identical_rankings(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    store = SqliteStore(db)
    _fill(store)
    before = _rankings(store)
    store.close()
    with sqlite3.connect(db) as conn:  # back to what schema 2 (line ranges) wrote
        conn.executescript(
            "DROP INDEX chunks_collection; DROP INDEX chunks_rowid_collection; "
            "ALTER TABLE chunks DROP COLUMN collection; "
            "ALTER TABLE documents DROP COLUMN collection; DROP TABLE collections; "
            "DROP TABLE members; DROP TABLE users; DROP TABLE audit; PRAGMA user_version = 2;"
        )
    upgraded = SqliteStore(db)
    assert int(upgraded._read("PRAGMA user_version")[0][0]) == 3
    _check_migrated(upgraded, before)
    upgraded.close()


def test_postgres_database_before_migration_4_is_upgraded_with_identical_rankings(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url)
    _fill(store)
    store.vacuum()
    before = _rankings(store)
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as migration 2 left it
        conn.execute(
            "DROP TABLE collections, members, users, audit; "
            "DROP FUNCTION ragstream_audit_append_only; "
            "ALTER TABLE chunks DROP COLUMN collection; "
            "ALTER TABLE documents DROP COLUMN collection; "
            "ALTER TABLE postings DROP COLUMN collection; "  # drops postings_by_term too
            "CREATE INDEX postings_by_term ON postings (term) INCLUDE (chunk_id, tf, dl); "
            "DELETE FROM schema_migrations WHERE version = 4"
        )
    upgraded = PostgresStore(postgres_url)
    assert upgraded.applied == [4]
    _check_migrated(upgraded, before)
    upgraded.close()


def test_copy_carries_collections_members_and_users(tmp_path: Path) -> None:
    from ragstream.index.copy import copy_store

    source, destination = SqliteStore(tmp_path / "a.sqlite"), SqliteStore(tmp_path / "b.sqlite")
    _fill(source)
    source.create_collection("hr")
    record, chunks, vectors = make_doc("hr/pay.txt", ["salary table"], seed=3)
    source.replace_document(replace(record, collection="hr"), chunks, vectors)
    source.grant("hr", "group:hr", "owner")
    source.add_user("alice", "scrypt$hash", admin=True)
    copy_store(source, destination)
    assert [(c.name, c.documents) for c in destination.collections()] == [
        ("default", 30),
        ("hr", 1),
    ]
    assert destination.members() == source.members()
    assert destination.user_secret("alice") == ("scrypt$hash", True)
    assert destination.keyword_search("salary", 5, collections=["hr"])
    for store in (source, destination):
        store.close()
