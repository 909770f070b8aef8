"""Knowing when the documents do not answer: pure functions over retrieval scores.

A question is *answered* when the best evidence clears a calibrated bar. The signals
are on fixed scales, unlike fused or BM25 scores: the dense cosine of the best chunk
(the embedder's own calibration), and the reranker's score of its best passage (the
cross-encoder's logit, ColBERT's mean MaxSim). The FAQ test of each question without its
answer (bench/eval_abstain.py, bench/eval_rerank.py) shows what they can and cannot do:
off-topic questions stand far below, near misses on the same topic do not (README).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ragstream.models import Hit
from ragstream.retrieve.fusion import Candidates

# Any signal present below its bar means "abstain"; a signal that did not run (no
# reranker, BM25-only search) does not vote. Bars that withhold <= 5% of answerable FAQ
# questions (dense 0.43, ColBERT 0.81) would also withhold the README's own questions on
# samples/ (dense 0.31-0.41, ColBERT 0.78-0.83) and still let 85-90% of the FAQ's
# unanswerable near misses through; so the bars sit between off-topic questions and
# the README's (dense <= 0.12, ColBERT <= 0.77, cross-encoder logit -10 to -11).
THRESHOLDS = {"dense": 0.2, "colbert": 0.75, "cross-encoder": -5.0}


def best_signals(hits: Sequence[Hit]) -> dict[str, float]:
    """The best raw score each stage gave any of `hits`."""
    best: dict[str, float] = {}
    for hit in hits:
        for name, value in hit.scores.items():
            best[name] = max(value, best.get(name, value))
    return best


def answers_question(hits: Sequence[Hit]) -> bool:
    """False when the best evidence is below its calibrated bar: the documents do not
    answer. With no calibrated signal (BM25 alone) it never withholds an answer."""
    return bool(hits) and decide(best_signals(hits))


def decide(signals: Mapping[str, float]) -> bool:
    """True (answer) unless a calibrated signal present is below its bar."""
    return all(signals[name] >= bar for name, bar in THRESHOLDS.items() if name in signals)


def top_signals(
    top: Sequence[str], lists: Mapping[str, Candidates], rerank: Mapping[str, float], name: str
) -> dict[str, float]:
    """What `best_signals` sees for hits `top` (ids), from candidate lists and reranker
    scores by id: the evaluation's way of asking what `ask` would decide."""
    found: dict[str, float] = {}
    for stage, cands in lists.items():
        by_id = dict(cands)
        values = [by_id[c] for c in top if c in by_id]
        if values:
            found[stage] = max(values)
    values = [rerank[c] for c in top if c in rerank]
    if values:
        found[name] = max(values)
    return found
