"""The behaviour every Store must have, written once and bound to each backend.

A backend's test module subclasses `StoreContract` and provides a `store_factory`
fixture: a callable that opens a *new connection* to the same, initially empty store
each time it is called (so tests can check that a second reader sees the first one's
writes). Stores opened through the factory are closed by the fixture's owner.

Semantics every store shares: keyword search stems English words and accepts any text;
`path_glob` is a case-sensitive fnmatch pattern over the stored path in which `*` also
matches `/`; a failed write changes nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ragstream.errors import StoreError
from ragstream.index.store import Store
from ragstream.models import Chunk, DocumentRecord

StoreFactory = Callable[[], Store]
DIM = 8


def unit(seed: int, dim: int = DIM) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def make_doc(
    path: str, texts: list[str], seed: int = 0
) -> tuple[DocumentRecord, list[Chunk], np.ndarray]:
    chunks = [
        Chunk(
            id=f"{path}#{i}:{zlib.crc32(text.encode())}",
            path=path,
            text=text,
            ordinal=i,
            page=i + 1 if path.endswith(".pdf") else None,
            title=f"Title {i}" if i % 2 else None,
            section_index=i,
            start=3 * i,
            end=3 * i + len(text),
            n_tokens=len(text.split()),
            # text files carry their source line range (citations read "a.txt L3-5")
            line_start=3 * i + 1 if path.endswith(".txt") else None,
            line_end=3 * i + 2 if path.endswith(".txt") else None,
        )
        for i, text in enumerate(texts)
    ]
    vectors = (
        np.stack([unit(seed * 1000 + i) for i in range(len(texts))])
        if texts
        else np.zeros((0, DIM), np.float32)
    )
    record = DocumentRecord(
        path=path, sha256=f"sha-{path}-{seed}", size=100 + seed, mtime=1.5 + seed,
        n_chunks=len(texts), n_pages=len(texts) if path.endswith(".pdf") else None,
        ingested_at=1000.25 + seed,
    )  # fmt: skip
    return record, chunks, vectors


CORPUS = {
    "docs/keys.md": ["Rotate the API key every ninety days.", "Keys live in the vault."],
    "docs/guide/install.md": ["Install with pip inside a virtual environment."],
    "notes/cooking.txt": ["Boil the pasta for nine minutes.", "Salt the water generously."],
    "manual.pdf": ["Page one talks about turbines.", "Page two is about gearboxes."],
}


class StoreContract:
    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> Store:
        return store_factory()

    @pytest.fixture
    def filled(self, store: Store) -> Store:
        for seed, (path, texts) in enumerate(CORPUS.items()):
            store.replace_document(*make_doc(path, texts, seed))
        return store

    # --- empty store, meta, manifest ---------------------------------------------------
    def test_new_store_is_empty(self, store: Store) -> None:
        assert store.get_meta() == {}
        assert store.documents() == []
        assert store.count_chunks() == 0
        assert store.keyword_search("anything", 5) == []
        assert store.dense_search(unit(1), 5) == []
        assert store.chunks(["nope"]) == []
        assert store.vectors_for(["nope"]) == {}

    def test_meta_round_trip_and_overwrite(self, store: Store, store_factory: StoreFactory) -> None:
        store.set_meta({"embedder": "mini", "dim": str(DIM)})
        store.set_meta({"embedder": "mini-v2"})
        assert store_factory().get_meta() == {"embedder": "mini-v2", "dim": str(DIM)}

    def test_documents_are_the_manifest(self, filled: Store) -> None:
        records = {r.path: r for r in filled.documents()}
        assert set(records) == set(CORPUS)
        expected, _, _ = make_doc("manual.pdf", CORPUS["manual.pdf"], 3)
        assert records["manual.pdf"] == expected
        assert filled.count_chunks() == sum(len(t) for t in CORPUS.values())

    def test_chunks_round_trip_in_requested_order(self, store: Store) -> None:
        _, chunks, _ = make_doc("manual.pdf", CORPUS["manual.pdf"])
        store.replace_document(*make_doc("manual.pdf", CORPUS["manual.pdf"]))
        wanted = [chunks[1].id, "missing", chunks[0].id]
        assert store.chunks(wanted) == [chunks[1], chunks[0]]

    def test_line_ranges_round_trip(self, store: Store) -> None:
        _, chunks, _ = make_doc("notes/cooking.txt", CORPUS["notes/cooking.txt"])
        store.replace_document(*make_doc("notes/cooking.txt", CORPUS["notes/cooking.txt"]))
        got = store.chunks([c.id for c in chunks])
        assert [(c.line_start, c.line_end) for c in got] == [(1, 2), (4, 5)]
        assert got == chunks

    def test_vectors_for_returns_stored_vectors_of_existing_ids(self, store: Store) -> None:
        record, chunks, vectors = make_doc("a.md", ["one", "two"], seed=7)
        store.replace_document(record, chunks, vectors)
        got = store.vectors_for([chunks[1].id, "missing"])
        assert list(got) == [chunks[1].id]
        np.testing.assert_array_equal(got[chunks[1].id], vectors[1])
        assert got[chunks[1].id].dtype == np.float32

    # --- replace and remove --------------------------------------------------------------
    def test_replace_swaps_the_whole_document(self, filled: Store) -> None:
        old = filled.keyword_search("ninety", 5)
        assert old, "the old text must be findable before the replace"
        filled.replace_document(*make_doc("docs/keys.md", ["Keys now rotate monthly."], seed=9))
        assert filled.keyword_search("ninety vault", 5) == []
        assert filled.chunks([cid for cid, _ in old]) == []
        [new] = filled.keyword_search("monthly", 5)
        assert filled.chunks([new[0]])[0].text == "Keys now rotate monthly."
        record = next(r for r in filled.documents() if r.path == "docs/keys.md")
        assert (record.n_chunks, record.sha256) == (1, "sha-docs/keys.md-9")
        dense_ids = {cid for cid, _ in filled.dense_search(unit(1), 100)}
        assert new[0] in dense_ids and not dense_ids & {cid for cid, _ in old}

    def test_remove_document(self, filled: Store) -> None:
        assert filled.remove_document("notes/cooking.txt") is True
        assert filled.remove_document("notes/cooking.txt") is False
        assert "notes/cooking.txt" not in {r.path for r in filled.documents()}
        assert filled.keyword_search("pasta water", 5) == []
        paths = {
            c.path for c in filled.chunks([cid for cid, _ in filled.dense_search(unit(1), 100)])
        }
        assert "notes/cooking.txt" not in paths
        assert filled.count_chunks() == 5

    def test_misaligned_vectors_are_refused_and_nothing_changes(self, filled: Store) -> None:
        record, chunks, vectors = make_doc("docs/keys.md", ["new text"], seed=5)
        with pytest.raises(StoreError, match=r"docs/keys\.md"):
            filled.replace_document(record, chunks, np.vstack([vectors, vectors]))
        assert filled.keyword_search("ninety", 5)

    def test_wrong_dimension_is_refused(self, store: Store) -> None:
        store.set_meta({"dim": str(DIM)})
        record, chunks, _ = make_doc("a.md", ["text"])
        with pytest.raises(StoreError, match="dimension"):
            store.replace_document(record, chunks, np.ones((1, DIM + 1), np.float32))

    def test_failed_replace_keeps_the_old_document(self, filled: Store) -> None:
        record, chunks, vectors = make_doc("docs/keys.md", ["dup one", "dup two"], seed=4)
        clash = [chunks[0], Chunk(**{**chunks[1].__dict__, "id": chunks[0].id})]
        with pytest.raises(StoreError, match=r"docs/keys\.md"):
            filled.replace_document(record, clash, vectors)
        assert filled.keyword_search("ninety", 5)
        assert next(r for r in filled.documents() if r.path == "docs/keys.md").n_chunks == 2

    # --- keyword search ---------------------------------------------------------------------
    def test_keyword_search_ranks_the_matching_chunk_first(self, filled: Store) -> None:
        hits = filled.keyword_search("how long do I boil pasta?", 3)
        assert filled.chunks([hits[0][0]])[0].text == "Boil the pasta for nine minutes."
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True)

    def test_keyword_search_stems_words(self, filled: Store) -> None:
        [hit] = filled.keyword_search("rotating", 5)
        assert "Rotate" in filled.chunks([hit[0]])[0].text

    @pytest.mark.parametrize(
        "query",
        ['"', "AND OR NOT", "pasta*", "NEAR(pasta water)", "(((", "title:pasta", "-pasta",
         "'; DROP TABLE chunks; --", "  ", "", "Ünïcödé ∑ 漢字", "a" * 5000, "pasta " * 500],
    )  # fmt: skip
    def test_keyword_search_accepts_any_input(self, filled: Store, query: str) -> None:
        hits = filled.keyword_search(query, 5)
        assert isinstance(hits, list)
        if "pasta" in query.lower():
            assert filled.chunks([hits[0][0]])[0].path == "notes/cooking.txt"
        assert filled.count_chunks() == 7

    # --- dense search ---------------------------------------------------------------------
    def test_dense_search_is_exact_cosine(self, filled: Store) -> None:
        ids, rows = [], []
        for seed, (path, texts) in enumerate(CORPUS.items()):
            _, chunks, vectors = make_doc(path, texts, seed)
            ids += [c.id for c in chunks]
            rows.append(vectors)
        query = unit(42)
        scores = np.vstack(rows) @ query
        order = np.argsort(-scores)[:4]
        hits = filled.dense_search(query, 4)
        assert [cid for cid, _ in hits] == [ids[i] for i in order]
        np.testing.assert_allclose([s for _, s in hits], scores[order], rtol=1e-5)

    def test_dense_search_k_larger_than_corpus(self, filled: Store) -> None:
        assert len(filled.dense_search(unit(3), 1000)) == 7

    # --- path filters -----------------------------------------------------------------------
    @pytest.mark.parametrize(
        ("glob", "paths"),
        [
            ("docs/*", {"docs/keys.md", "docs/guide/install.md"}),
            ("*.md", {"docs/keys.md", "docs/guide/install.md"}),
            ("docs/guide/*.md", {"docs/guide/install.md"}),
            ("manual.pdf", {"manual.pdf"}),
            ("*.TXT", set()),
            ("nothing/*", set()),
        ],
    )
    def test_path_glob_filters_both_searches_alike(
        self, filled: Store, glob: str, paths: set[str]
    ) -> None:
        dense = filled.chunks([c for c, _ in filled.dense_search(unit(5), 100, path_glob=glob)])
        assert {c.path for c in dense} == paths
        words = "rotate vault install pasta water turbines gearboxes page"
        keyword = filled.chunks([c for c, _ in filled.keyword_search(words, 100, path_glob=glob)])
        assert {c.path for c in keyword} == paths

    # --- several connections --------------------------------------------------------------
    def test_a_second_connection_sees_writes(
        self, store: Store, store_factory: StoreFactory
    ) -> None:
        reader = store_factory()
        assert reader.dense_search(unit(1), 5) == []  # warms the reader's vector cache
        store.replace_document(*make_doc("a.md", ["alpha beta"], seed=1))
        assert len(reader.dense_search(unit(1), 5)) == 1
        assert reader.keyword_search("alpha", 5)
        store.remove_document("a.md")
        assert reader.dense_search(unit(1), 5) == []
        assert reader.documents() == []


# Globs and paths on which PostgreSQL's glob translation must agree with fnmatch.
GLOBS = ["docs/*", "*.md", "docs/guide/*.md", "manual.pdf", "*.TXT", "d?cs/*", "[dm]*",
         "[!d]*", "a+b(c)|d.txt", "[]x]*", "[x", "*.[mp][dd]*", "x\\y", "^$.{2}"]  # fmt: skip
PATHS = ["docs/keys.md", "docs/guide/install.md", "manual.pdf", "notes/a.TXT", "a+b(c)|d.txt",
         "]x.md", "[x", "x\\y", "^$.{2}", "^$.aa", "doc/x.pd"]  # fmt: skip


def assert_frequencies_match_postings(store: Any) -> None:
    """PostgreSQL's term_stats agree with its postings (a PostgresStore)."""
    mismatched = store._read(
        "SELECT count(*) FROM term_stats s FULL JOIN "
        "(SELECT term, count(*) AS df FROM postings GROUP BY term) p USING (term) "
        "WHERE coalesce(s.df, 0) <> coalesce(p.df, 0)"
    )
    assert mismatched == [(0,)]
    assert store._read("SELECT count(*) FROM postings")[0][0] > 0
