"""Hybrid fusion per embedder: e5's compressed cosines get their own thresholds (pure)."""

from __future__ import annotations

from ragstream.retrieve.fusion import DEFAULT_FUSION, AdaptiveFusion, fusion_for


def test_minilm_and_unknown_models_keep_the_default() -> None:
    assert fusion_for("all-MiniLM-L6-v2-int8") is DEFAULT_FUSION
    assert fusion_for("some/other-model") is DEFAULT_FUSION


def test_e5_scale_cosines_are_not_drowned_by_bm25() -> None:
    e5 = fusion_for("multilingual-e5-small-int8")
    assert isinstance(e5, AdaptiveFusion) and e5 is not DEFAULT_FUSION
    # e5-like list: a clear dense winner 0.04 above the rest; BM25 prefers another chunk.
    dense = [("a", 0.88), ("b", 0.84), ("c", 0.839), ("d", 0.838)]
    bm25 = [("b", 12.0), ("c", 3.0), ("a", 1.0)]
    lists = {"dense": dense, "bm25": bm25}
    assert e5(lists)[0][0] == "a"
    assert DEFAULT_FUSION(lists)[0][0] == "b"  # MiniLM's recipe would flip it
    # A flat dense top (a near-tie) is still broken by BM25.
    flat = {"dense": [("a", 0.861), ("b", 0.860), ("c", 0.8599)], "bm25": bm25}
    assert e5(flat)[0][0] == "b"
