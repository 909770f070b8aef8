"""The store contract bound to PostgreSQL + pgvector (a real server from the fixtures),
plus what only this store has: migrations, URL masking, SQL translation of globs."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator

import pytest

from ragstream.index.postgres import PostgresStore, glob_to_regex, mask_url
from tests.index.store_contract import GLOBS, PATHS, StoreContract, StoreFactory


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
class TestPostgresStore(StoreContract):
    pass


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
