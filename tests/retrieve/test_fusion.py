"""Fusion is pure: checked against hand-computed values."""

from __future__ import annotations

import pytest

from ragstream.retrieve.fusion import (
    DEFAULT_FUSION,
    FUSIONS,
    AdaptiveFusion,
    Fusion,
    normalise,
    normalised_sum,
    reciprocal_rank,
)

BM25 = [("a", 12.0), ("b", 6.0), ("c", 3.0)]
DENSE = [("b", 0.9), ("d", 0.8), ("a", 0.1)]


def test_rrf_by_hand() -> None:
    fused = dict(reciprocal_rank({"bm25": BM25, "dense": DENSE}, k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63)
    assert fused["d"] == pytest.approx(1 / 62)


def test_weighted_rrf_follows_the_heavier_list() -> None:
    fused = reciprocal_rank({"bm25": BM25, "dense": DENSE}, k=1, weights={"bm25": 0.1, "dense": 1})
    assert [cid for cid, _ in fused] == ["b", "d", "a", "c"]


def test_normalise_minmax_and_zscore() -> None:
    assert normalise([4.0, 2.0, 0.0], "minmax") == [1.0, 0.5, 0.0]
    assert normalise([3.0, 1.0], "zscore") == [1.0, -1.0]
    assert normalise([5.0, 5.0], "zscore") == [0.0, 0.0]
    assert normalise([5.0], "minmax") == [0.0]
    assert normalise([], "zscore") == []


def test_normalised_sum_by_hand() -> None:
    fused = dict(normalised_sum({"bm25": BM25, "dense": DENSE}, {"bm25": 1, "dense": 1}, "minmax"))
    # bm25 minmax: a 1, b 1/3, c 0; dense: b 1, d 0.875, a 0; missing -> list minimum (0)
    assert fused == pytest.approx({"a": 1.0, "b": 4 / 3, "c": 0.0, "d": 0.875})


def test_missing_candidate_gets_the_lists_lowest_zscore() -> None:
    fused = dict(normalised_sum({"bm25": BM25, "dense": DENSE}, {"bm25": 0, "dense": 1}))
    dense_z = dict(zip("bda", normalise([0.9, 0.8, 0.1], "zscore"), strict=True))
    assert fused["c"] == pytest.approx(min(dense_z.values()))
    assert fused["b"] == pytest.approx(dense_z["b"])


def test_zero_weight_reproduces_the_other_retriever() -> None:
    fused = normalised_sum({"bm25": BM25, "dense": DENSE}, {"bm25": 0.0, "dense": 1.0})
    assert [cid for cid, _ in fused][:3] == [cid for cid, _ in DENSE]


def test_agreement_wins_in_every_variant() -> None:
    lists = {"bm25": [("x", 9.0), ("y", 5.0), ("z", 1.0)], "dense": [("x", 0.9), ("z", 0.5)]}
    for fusion in [*FUSIONS.values(), DEFAULT_FUSION]:
        assert fusion(lists)[0][0] == "x"


def test_empty_and_one_sided_lists() -> None:
    for fusion in FUSIONS.values():
        assert fusion({"bm25": [], "dense": []}) == []
        assert [c for c, _ in fusion({"bm25": [], "dense": DENSE})] == ["b", "d", "a"]


def test_ties_break_by_id_so_order_is_stable() -> None:
    fused = reciprocal_rank({"bm25": [("b", 1.0)], "dense": [("a", 1.0)]})
    assert [cid for cid, _ in fused] == ["a", "b"]


def test_fusion_dispatches_on_method() -> None:
    lists = {"bm25": BM25, "dense": DENSE}
    assert Fusion("rrf", {"bm25": 1, "dense": 1}, 60)(lists) == reciprocal_rank(lists)
    assert Fusion("sum", {"bm25": 1}, {"bm25": "minmax"})(lists) == normalised_sum(
        lists, {"bm25": 1}, {"bm25": "minmax"}
    )


def test_normalise_none_and_max() -> None:
    assert normalise([0.5, 0.25], "none") == [0.5, 0.25]
    assert normalise([8.0, 2.0], "max") == [1.0, 0.25]
    assert normalise([0.0, 0.0], "max") == [0.0, 0.0]


def test_default_lets_bm25_decide_only_when_dense_is_unsure() -> None:
    bm25 = [("b", 10.0), ("a", 2.0)]
    sure = {"bm25": bm25, "dense": [("a", 0.80), ("b", 0.60)]}  # a clear cosine gap
    flat = {"bm25": bm25, "dense": [("a", 0.62), ("b", 0.61)]}  # the model cannot tell
    assert [cid for cid, _ in DEFAULT_FUSION(sure)] == ["a", "b"]
    assert [cid for cid, _ in DEFAULT_FUSION(flat)] == ["b", "a"]


def _dense(*cosines: float) -> list[tuple[str, float]]:
    return [(f"d{i}", c) for i, c in enumerate(cosines)]


def test_adaptive_weight_follows_the_spread_of_the_dense_top() -> None:
    fusion = AdaptiveFusion(low=0.1, high=0.5, flat=0.05, sure=0.15, nth=3)
    assert fusion.bm25_weight(_dense(0.9, 0.8, 0.7, 0.0)) == pytest.approx(0.1)  # spread 0.2
    assert fusion.bm25_weight(_dense(0.9, 0.89, 0.88, 0.0)) == pytest.approx(0.5)  # 0.02
    assert fusion.bm25_weight(_dense(0.9, 0.85, 0.8)) == pytest.approx(0.3)  # 0.10: halfway
    assert fusion.bm25_weight(_dense(0.9, 0.8)) == pytest.approx(0.3)  # short list: its last
    assert fusion.bm25_weight(_dense(0.9)) == 0.1  # one cosine says nothing about flatness
    assert fusion.bm25_weight([]) == 0.1


def test_adaptive_scores_by_hand() -> None:
    fusion = AdaptiveFusion(low=0.1, high=0.5, flat=0.05, sure=0.15, nth=3)
    lists = {"bm25": [("x", 8.0), ("d1", 2.0)], "dense": _dense(0.9, 0.85, 0.8)}
    fused = dict(fusion(lists))  # weight 0.3; x missing from dense gets its lowest, 0.8
    assert fused == pytest.approx(
        {"x": 0.3 * 1.0 + 0.7 * 0.8, "d0": 0.3 * 0.25 + 0.7 * 0.9,
         "d1": 0.3 * 0.25 + 0.7 * 0.85, "d2": 0.3 * 0.25 + 0.7 * 0.8}
    )  # fmt: skip


def test_adaptive_lets_bm25_overrule_a_flat_dense_top_but_not_a_clear_one() -> None:
    # The same top two cosines and the same BM25 list; only the tail of dense differs.
    bm25 = [("d1", 10.0), ("d0", 6.0)]
    clear = {"bm25": bm25, "dense": _dense(0.70, 0.65, *[0.45] * 8)}
    flat = {"bm25": bm25, "dense": _dense(0.70, 0.65, *[0.64] * 8)}
    fusion = AdaptiveFusion()
    assert [cid for cid, _ in fusion(clear)][:2] == ["d0", "d1"]
    assert [cid for cid, _ in fusion(flat)][:2] == ["d1", "d0"]
    # the fixed-weight recipe it replaces cannot tell the two apart
    fixed = FUSIONS["cosine+bm25"]
    assert [c for c, _ in fixed(clear)][:2] == [c for c, _ in fixed(flat)][:2] == ["d0", "d1"]


@pytest.mark.parametrize(
    "bad", [{"flat": 0.2, "sure": 0.2}, {"low": 0.5, "high": 0.2}, {"high": 1.5}, {"nth": 1}]
)
def test_adaptive_rejects_settings_it_cannot_interpolate(bad: dict) -> None:
    with pytest.raises(ValueError, match="needs 0 <= low <= high <= 1"):
        AdaptiveFusion(**bad)
