"""The store contract bound to PostgreSQL + pgvector (a real server from the fixtures),
plus what only this store has: migrations, URL masking, SQL translation of globs."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator

import pytest

from ragstream.index import postgres
from ragstream.index.postgres import PostgresStore, glob_to_regex, mask_url
from tests.index.access_contract import AccessContract
from tests.index.store_contract import DIM, GLOBS, PATHS, StoreContract, StoreFactory, unit
from tests.index.token_vectors_contract import TokenVectorsContract


@pytest.fixture
def store_factory(postgres_url: str) -> Iterator[StoreFactory]:
    opened: list[PostgresStore] = []

    def factory() -> PostgresStore:
        opened.append(PostgresStore(postgres_url))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


@pytest.mark.postgres
class TestPostgresStore(StoreContract, AccessContract, TokenVectorsContract):
    def test_a_large_filter_walks_hnsw_iteratively_and_still_fills_k(
        self, two: PostgresStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Above EXACT_FILTER_ROWS the filter is a WHERE on the HNSW scan (iterative scan):
        it must still return k rows of the small collection, not what survives a cut."""
        two.set_meta({"dim": str(DIM)})  # builds the HNSW index
        exact = [cid for cid, _ in two.dense_search(unit(99), 100, collections=["small"])]
        monkeypatch.setattr(postgres, "EXACT_FILTER_ROWS", 0)
        # on a table this small the planner would rather sort the collection's rows
        two._conn.execute("DROP INDEX chunks_collection_vectors")  # (the collection index)
        two._conn.execute("SET enable_seqscan = off")
        plan = two._read(
            "EXPLAIN SELECT id FROM chunks WHERE collection = ANY(%s) "
            "ORDER BY embedding <=> %s LIMIT 5",
            (["small"], unit(99)),
        )
        assert "chunks_embedding_hnsw" in " ".join(row[0] for row in plan)
        hits = two.dense_search(unit(99), 5, collections=["small"])
        assert [cid for cid, _ in hits] == exact[:5]


@pytest.mark.parametrize("glob", GLOBS)
def test_glob_to_regex_matches_like_fnmatch(glob: str) -> None:
    pattern = glob_to_regex(glob)  # PostgreSQL's ARE syntax agrees with Python's re here
    for path in PATHS:
        assert bool(re.fullmatch(pattern, path)) == fnmatch.fnmatchcase(path, glob), (glob, path)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:s3cret@db.example.com:5432/rag",
         "postgresql://app:***@db.example.com:5432/rag"),
        ("postgres://app:p%40ss@[::1]/rag?sslmode=require",
         "postgres://app:***@[::1]/rag?sslmode=require"),
        ("postgresql://app@db/rag?password=s3cret&sslmode=require",
         "postgresql://app@db/rag?password=***&sslmode=require"),
        ("host=db user=app password=s3cret dbname=rag", "host=db user=app password=*** dbname=rag"),
        ("postgresql://db/rag", "postgresql://db/rag"),
    ],
)  # fmt: skip
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
