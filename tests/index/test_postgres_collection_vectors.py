"""The covering index for filtered dense search on PostgreSQL (migration 8): a small
collection's vectors come from `chunks_collection_vectors` in an index-only scan, not
from TOAST. Built with the embedder's dimension when vectors fit a btree entry, left out
(and ingest still works) when they do not, added to an existing index by the migration;
results equal an exact filtered scan."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from ragstream.index.pg_migrations import COVERED_MAX_DIM, NARROW_INDEX
from ragstream.index.postgres import PostgresStore
from ragstream.models import Chunk, DocumentRecord

pytestmark = pytest.mark.postgres
LONG_NAME = "c" * 128  # the longest collection name still fits beside the vector


def covered(url: str) -> bool:
    """The covering index exists, and then in place of the narrow one (else beside none)."""
    with psycopg.connect(url) as conn:
        wide, narrow = conn.execute(
            "SELECT to_regclass('chunks_collection_vectors'), to_regclass('chunks_collection')"
        ).fetchone() or (None, None)
    assert bool(wide) != bool(narrow)
    return bool(wide)


def fill(store: PostgresStore, dim: int, collections: list[str], per: int = 40) -> np.ndarray:
    """`per` chunks in each collection, random unit vectors; returns them in order."""
    rng = np.random.default_rng(dim)
    vectors = rng.standard_normal((per * len(collections), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for n, name in enumerate(collections):
        path = f"doc-{n}.txt"
        chunks = [
            Chunk(id=f"{n}-{i}", path=path, text=f"chunk {i} of {name}", ordinal=i)
            for i in range(per)
        ]
        doc = DocumentRecord(path, f"sha{n}", 1, 0.0, per, None, 0.0, collection=name)
        store.replace_document(doc, chunks, vectors[n * per : (n + 1) * per])
    return vectors


@pytest.mark.parametrize("dim", [384, COVERED_MAX_DIM + 168])
def test_filtered_search_is_exact_with_or_without_the_covering_index(
    postgres_url: str, dim: int
) -> None:
    store = PostgresStore(postgres_url)
    store.set_meta({"embedder": "test", "dim": str(dim)})
    assert covered(postgres_url) == (dim <= COVERED_MAX_DIM)
    names = ["a", "b", LONG_NAME]
    for name in names:
        store.create_collection(name)
    vectors = fill(store, dim, names)  # 768-d rows would not fit the index: none is made
    query = vectors[45] + 0.1 * vectors[7]
    query /= np.linalg.norm(query)
    for allowed in (["b"], [LONG_NAME], ["a", LONG_NAME]):
        rows = [n * 40 + j for n, name in enumerate(names) if name in allowed for j in range(40)]
        scores = vectors[rows] @ query
        exact = [f"{rows[i] // 40}-{rows[i] % 40}" for i in np.argsort(-scores)[:5]]
        got = store.dense_search(query, 5, collections=allowed)
        assert [cid for cid, _ in got] == exact
        assert np.allclose([s for _, s in got], np.sort(scores)[::-1][:5], atol=1e-5)
    store.close()


def test_the_exact_path_reads_vectors_from_the_index_only(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.set_meta({"embedder": "test", "dim": "384"})
    names = [f"c{i:02d}" for i in range(20)]
    for name in names:
        store.create_collection(name)
    vectors = fill(store, 384, names, per=50)
    store.vacuum()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SET enable_seqscan = off")  # a 1,000-row table: as at scale
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT id, -(embedding <#> %s::vector) FROM chunks "
                "WHERE collection = ANY(%s) ORDER BY (embedding <=> %s::vector) + 0 LIMIT 10",
                (str(vectors[0].tolist()), ["c03"], str(vectors[0].tolist())),
            )
        )
    assert "Index Only Scan using chunks_collection_vectors" in plan, plan
    store.close()


def test_the_migration_adds_it_to_an_existing_index(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.set_meta({"embedder": "test", "dim": "384"})
    store.create_collection("x")
    fill(store, 384, ["x"])
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # the index before 8
        conn.execute("DROP INDEX chunks_collection_vectors")
        conn.execute(NARROW_INDEX)
        conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    assert not covered(postgres_url)
    again = PostgresStore(postgres_url)
    assert again.applied == [8] and covered(postgres_url)
    assert len(again.dense_search(np.ones(384, np.float32) / 384**0.5, 3, collections=["x"])) == 3
    again.close()


def test_an_index_of_wide_vectors_gets_no_covering_index_from_the_migration(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url)
    store.set_meta({"embedder": "test", "dim": "1536"})
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    again = PostgresStore(postgres_url)
    assert again.applied == [8] and not covered(postgres_url)
    again.close()
