"""The store contract bound to PostgreSQL + pgvector (a real server from the fixtures),
plus what only this store has: migrations, URL masking, SQL translation of globs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragstream.index.postgres import PostgresStore
from tests.index.store_contract import StoreContract, StoreFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def store_factory(postgres_url: str) -> Iterator[StoreFactory]:
    opened: list[PostgresStore] = []

    def factory() -> PostgresStore:
        opened.append(PostgresStore(postgres_url))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


class TestPostgresStore(StoreContract):
    pass
