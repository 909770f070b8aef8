"""Abstention rules over hits' raw stage scores (pure: no index, no model)."""

from __future__ import annotations

from ragstream.models import Chunk, Hit
from ragstream.retrieve.abstain import THRESHOLDS, answers_question, best_signals


def hit(**scores: float) -> Hit:
    return Hit(Chunk(id="c", path="p", text="t", ordinal=0), 1.0, {}, dict(scores))


def test_best_signal_of_each_stage_over_the_hits() -> None:
    hits = [hit(dense=0.3, bm25=2.0), hit(dense=0.5, colbert=0.7), hit(colbert=0.9)]
    assert best_signals(hits) == {"dense": 0.5, "bm25": 2.0, "colbert": 0.9}


def test_any_signal_below_its_bar_abstains() -> None:
    bar, dense_bar = THRESHOLDS["colbert"], THRESHOLDS["dense"]
    assert answers_question([hit(dense=dense_bar + 0.5, colbert=bar + 0.01)])
    assert not answers_question([hit(dense=dense_bar + 0.5, colbert=bar - 0.01)])
    assert not answers_question([hit(dense=dense_bar - 0.01, colbert=bar + 0.5)])


def test_dense_decides_without_a_reranker_and_bm25_alone_never_withholds() -> None:
    bar = THRESHOLDS["dense"]
    assert answers_question([hit(dense=bar + 0.01, bm25=1.0)])
    assert not answers_question([hit(dense=bar - 0.01, bm25=50.0)])
    assert answers_question([hit(bm25=0.1)])  # no calibrated signal: answer
    assert not answers_question([])  # nothing retrieved: nothing answers
