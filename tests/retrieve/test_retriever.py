"""The retriever over a real SQLite store and the builtin embedder."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ragstream.errors import ConfigError
from ragstream.index.embedder import Embedder, create_embedder
from ragstream.index.sqlite import SqliteStore
from ragstream.models import Chunk, DocumentRecord
from ragstream.retrieve.retriever import Retriever

DOCS = {
    "guides/keys.md": ["Rotate the API key every ninety days from the admin console."],
    "guides/install.md": ["Install the package with pip in a virtual environment."],
    "notes/pasta.txt": ["Boil pasta in salted water for nine minutes.", "Drain the pasta."],
    "notes/keys-history.txt": ["The old key format was retired in 2019."],
}


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return create_embedder("builtin")


@pytest.fixture
def retriever(tmp_path: Path, embedder: Embedder) -> Iterator[Retriever]:
    store = SqliteStore(tmp_path / "index.sqlite")
    for path, texts in DOCS.items():
        chunks = [
            Chunk(id=f"{path}#{i}", path=path, text=t, ordinal=i) for i, t in enumerate(texts)
        ]
        record = DocumentRecord(path, "sha", 1, 0.0, len(chunks), None, time.time())
        store.replace_document(record, chunks, embedder.embed(texts))
    yield Retriever(store, embedder)
    store.close()


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_each_mode_finds_the_answer(retriever: Retriever, mode: str) -> None:
    hits = retriever.search("how often should I rotate the API key", k=3, mode=mode)
    assert hits[0].chunk.path == "guides/keys.md"
    assert len(hits) <= 3
    assert set(hits[0].ranks) == ({"bm25", "dense"} if mode == "hybrid" else {mode})
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hybrid_ranks_report_each_retrievers_position(retriever: Retriever) -> None:
    lists = retriever.candidates("boil pasta water", "hybrid")
    [top] = retriever.search("boil pasta water", k=1)
    for name, candidates in lists.items():
        position = [cid for cid, _ in candidates].index(top.chunk.id) + 1
        assert top.ranks[name] == position


def test_path_glob(retriever: Retriever) -> None:
    hits = retriever.search("key", k=10, path_glob="notes/*")
    assert hits[0].chunk.path == "notes/keys-history.txt"
    assert {h.chunk.path for h in hits} <= {"notes/pasta.txt", "notes/keys-history.txt"}
    assert {h.chunk.path for h in retriever.search("key", k=10, mode="bm25", path_glob="*.md")} == {
        "guides/keys.md"
    }


def test_blank_query_and_bad_mode(retriever: Retriever) -> None:
    assert retriever.search("   ", k=5) == []
    with pytest.raises(ConfigError, match="mode='fuzzy'"):
        retriever.search("key", mode="fuzzy")


class ReverseReranker:
    """Scores by position reversed: proves the retriever applies a reranker's order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def rerank(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        self.seen = [c.id for c in chunks]
        return [float(i) for i in range(len(chunks))]


def test_reranker_reorders_a_deeper_pool(retriever: Retriever) -> None:
    plain = retriever.search("pasta key water", k=5)
    retriever.reranker = reranker = ReverseReranker()
    retriever.rerank_weight = 1.0  # the reranker's order alone
    reranked = retriever.search("pasta key water", k=2)
    assert reranker.seen == [h.chunk.id for h in plain]  # pool is deeper than k
    assert [h.chunk.id for h in reranked] == [h.chunk.id for h in plain][::-1][:2]
    assert reranked[0].ranks["fused"] == len(plain)
