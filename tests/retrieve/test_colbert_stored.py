"""ColBERT passage vectors stored at ingest (int8, retrieve/colbert_codec.py): they score
like query-time encoding, the reranker reads them instead of encoding, chunks without
any fall back to encoding, and a workspace with reranker=colbert stores them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ragstream.config import Settings
from ragstream.errors import StoreError
from ragstream.retrieve import colbert_codec, rerank_onnx
from ragstream.retrieve.rerank_onnx import ColbertReranker
from ragstream.workspace import Workspace
from tests.support.rerank_passages import PASSAGES, QUESTIONS, chunks


@pytest.fixture(scope="module")
def colbert() -> ColbertReranker:
    return ColbertReranker()


class Counting:
    """Counts the passages ColBERT encodes (class-wide: ingest makes its own instance)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        original = ColbertReranker.encode_passages

        def counted(model: ColbertReranker, texts: Sequence[str]) -> list[np.ndarray]:
            self.texts.extend(texts)
            return original(model, texts)

        monkeypatch.setattr(ColbertReranker, "encode_passages", counted)


def test_codec_round_trip_is_within_half_a_step(colbert: ColbertReranker) -> None:
    [vectors] = colbert.encode_passages([PASSAGES[1]])
    blob = colbert_codec.encode(vectors)
    assert len(blob) == 5 + len(vectors) * (2 + 384)  # a quarter of float32, plus scales
    decoded = colbert_codec.decode(blob)
    step = np.abs(vectors).max(axis=1, keepdims=True) / 127
    assert decoded.shape == vectors.shape
    assert np.all(np.abs(decoded - vectors) <= step * 0.5 + 1e-3)
    assert colbert_codec.decode(colbert_codec.encode(np.zeros((0, 384)))).shape == (0, 384)
    with pytest.raises(StoreError, match="re-ingest the document"):
        colbert_codec.decode(blob[:-1])
    with pytest.raises(StoreError, match="truncated"):
        colbert_codec.decode(b"\x01")


def test_stored_vectors_score_and_rank_like_query_time_encoding(
    colbert: ColbertReranker, monkeypatch: pytest.MonkeyPatch
) -> None:
    passages = chunks()
    blobs = dict(zip((c.id for c in passages), colbert.chunk_blobs(passages), strict=True))
    stored = ColbertReranker(stored=lambda ids: {i: blobs[i] for i in ids if i in blobs})
    reference = colbert.encode_passages([rerank_onnx._passage_text(c) for c in passages])
    counting = Counting(monkeypatch)
    for question, answer in QUESTIONS.items():
        # float32 all the way (query and passages encoded now) against the stored int8
        q = colbert.encode_query(question)
        fresh = [colbert.max_sim(q, p) for p in reference]
        read = stored.rerank(question, passages)
        assert np.allclose(read, fresh, atol=0.005), question
        # the same order wherever query-time scores differ by more than the tolerance
        for i in range(len(passages)):
            for j in range(len(passages)):
                if fresh[i] > fresh[j] + 0.005:
                    assert read[i] > read[j], (question, i, j)
        assert int(np.argmax(read)) == answer
    assert counting.texts == []  # the stored reranker encoded no passage


def test_chunks_without_stored_vectors_are_encoded_at_query_time(
    colbert: ColbertReranker, monkeypatch: pytest.MonkeyPatch
) -> None:
    passages = chunks()
    blobs = {passages[0].id: colbert.chunk_blobs(passages[:1])[0]}  # an older index: one has
    stored = ColbertReranker(stored=lambda ids: {i: blobs[i] for i in ids if i in blobs})
    counting = Counting(monkeypatch)
    scores = stored.rerank("how long should pasta cook", passages)
    assert sorted(counting.texts) == sorted(p.text for p in passages[1:])
    assert np.allclose(scores, colbert.rerank("how long should pasta cook", passages), atol=0.005)


def _workspace(tmp_path: Path, reranker: str) -> Workspace:
    return Workspace.open(Settings(workspace=tmp_path / "ws", reranker=reranker))


def _write_docs(folder: Path, answers: Sequence[str] = PASSAGES) -> Path:
    folder.mkdir(exist_ok=True)
    for i, text in enumerate(answers):
        (folder / f"doc{i}.md").write_text(f"# Note {i}\n\n{text}\n", encoding="utf-8")
    return folder


def test_a_colbert_workspace_stores_vectors_at_ingest_and_asks_without_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = _write_docs(tmp_path / "docs")
    with _workspace(tmp_path, "colbert") as ws:
        ws.ingest([docs])
        ids = [cid for d in ws.documents() for cid in ws.store.chunk_ids(d.path)]
        assert ids and set(ws.store.token_vectors_for(ids)) == set(ids)
        counting = Counting(monkeypatch)
        hits = ws.search("How do I roll back a release?", k=2, rerank=True)
        assert hits[0].chunk.path.endswith("doc1.md")
        assert counting.texts == []  # the question only: passages came from the store

        # a changed file: only its new chunk is encoded, the unchanged ones reuse theirs
        (docs / "doc2.md").write_text("# Note 2\n\nOslo is the capital of Norway.\n")
        ws.ingest([docs])
        assert len(counting.texts) == 1 and "Oslo" in counting.texts[0]
        # removing a document removes its vectors; the others keep theirs
        [doc3] = [d.path for d in ws.documents() if d.path.endswith("doc3.md")]
        gone = ws.store.chunk_ids(doc3)
        (docs / "doc3.md").unlink()
        ws.ingest([docs])
        kept = [cid for d in ws.documents() for cid in ws.store.chunk_ids(d.path)]
        assert ws.store.token_vectors_for(gone) == {}
        assert set(ws.store.token_vectors_for(kept)) == set(kept)


def test_an_index_built_without_vectors_still_reranks_with_colbert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = _write_docs(tmp_path / "docs")
    with _workspace(tmp_path, "none") as ws:
        ws.ingest([docs])
        ids = [cid for d in ws.documents() for cid in ws.store.chunk_ids(d.path)]
        assert ws.store.token_vectors_for(ids) == {}  # nothing stored for another reranker
    with _workspace(tmp_path, "colbert") as ws:
        counting = Counting(monkeypatch)
        hits = ws.search("How do I roll back a release?", k=2, rerank=True)
        assert hits[0].chunk.path.endswith("doc1.md")
        assert len(counting.texts) == len(PASSAGES)  # encoded at query time, as before


def test_ingest_encodes_in_slices(
    colbert: ColbertReranker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rerank_onnx, "INGEST_SLICE", 3)
    sizes: list[int] = []
    original = ColbertReranker.encode_passages

    def sized(model: ColbertReranker, texts: Sequence[str]) -> list[np.ndarray]:
        sizes.append(len(texts))
        return original(model, texts)

    monkeypatch.setattr(ColbertReranker, "encode_passages", sized)
    texts = [f"{p} ({i})" for i, p in enumerate(PASSAGES * 2)]
    blobs = colbert.passage_blobs(texts)
    assert sizes == [3, 3, 2]  # never more than a slice of float32 vectors in memory
    expected = [colbert_codec.encode(v) for v in original(colbert, texts)]
    # aligned with the input order (the int8 model quantises activations per batch, so
    # other batch neighbours move the vectors a little: compared by cosine per token)
    for got, want in zip(blobs, expected, strict=True):
        a, b = colbert_codec.decode(got), colbert_codec.decode(want)
        cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert a.shape == b.shape and cosine.min() > 0.97


def test_the_default_workspace_stores_vectors_and_reranks_answers_not_searches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = _write_docs(tmp_path / "docs")
    with Workspace.open(Settings(workspace=tmp_path / "ws")) as ws:  # no reranker setting
        ws.ingest([docs])
        ids = [cid for d in ws.documents() for cid in ws.store.chunk_ids(d.path)]
        assert set(ws.store.token_vectors_for(ids)) == set(ids)
        calls: list[str] = []
        original = ColbertReranker.rerank

        def counted(model: ColbertReranker, query: str, chunks: Sequence[object]) -> list[float]:
            calls.append(query)
            return original(model, query, chunks)  # type: ignore[arg-type]

        monkeypatch.setattr(ColbertReranker, "rerank", counted)
        ws.search("How do I roll back a release?")
        assert calls == []  # search reranks only when asked (--rerank)
        events = list(ws.ask("How do I roll back a release?", offline=True))
        assert calls == ["How do I roll back a release?"]
        assert events[0].sources[0].path.endswith("doc1.md")  # type: ignore[attr-defined]
