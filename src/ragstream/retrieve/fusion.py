"""Fusing ranked candidate lists (one per retriever) into one ranking: pure functions.

Plain reciprocal-rank fusion weighs a weak retriever as much as a strong one and throws
the score gaps away; on the FAQ set it lost to dense search alone. Normalising each
retriever's scores (z-score over its candidates) and taking a weighted sum keeps both how
sure each retriever is and how much we trust it; `DEFAULT_FUSION` is the variant that
won on the evaluation split (see bench/eval_faq.py and the README's table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Candidates = list[tuple[str, float]]  # (id, score), best first
Method = Literal["rrf", "minmax", "zscore"]


def reciprocal_rank(
    lists: Mapping[str, Candidates], k: float = 60.0, weights: Mapping[str, float] | None = None
) -> Candidates:
    """Weighted RRF: sum over lists of weight / (k + rank), ranks 1-based."""
    scores: dict[str, float] = {}
    for name, candidates in lists.items():
        weight = 1.0 if weights is None else weights.get(name, 0.0)
        for rank, (cid, _) in enumerate(candidates, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    return _ranked(scores)


def normalise(scores: list[float], method: Literal["minmax", "zscore"]) -> list[float]:
    """Scores of one list made comparable across retrievers; constant lists map to 0."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return []
    if method == "minmax":
        spread = values.max() - values.min()
        result = (values - values.min()) / spread if spread > 0 else np.zeros_like(values)
    else:
        std = values.std()
        result = (values - values.mean()) / std if std > 0 else np.zeros_like(values)
    return [float(v) for v in result]


def normalised_sum(
    lists: Mapping[str, Candidates],
    weights: Mapping[str, float],
    method: Literal["minmax", "zscore"] = "zscore",
) -> Candidates:
    """Weighted sum of normalised scores. A candidate missing from a list gets that list's
    lowest normalised score: it was not in the retriever's top, so it ranks below them."""
    normalised = {
        name: dict(
            zip([c for c, _ in cands], normalise([s for _, s in cands], method), strict=True)
        )
        for name, cands in lists.items()
    }
    ids = {cid for cands in lists.values() for cid, _ in cands}
    scores = {}
    for cid in ids:
        total = 0.0
        for name, by_id in normalised.items():
            if by_id:
                total += weights.get(name, 0.0) * by_id.get(cid, min(by_id.values()))
        scores[cid] = total
    return _ranked(scores)


def _ranked(scores: Mapping[str, float]) -> Candidates:
    # Ties broken by id so that a ranking never depends on dict order.
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Fusion:
    """A named fusion recipe; calling it fuses {"bm25": [...], "dense": [...]}."""

    method: Method
    weights: Mapping[str, float] = field(default_factory=lambda: {"bm25": 1.0, "dense": 1.0})
    rrf_k: float = 60.0

    def __call__(self, lists: Mapping[str, Candidates]) -> Candidates:
        if self.method == "rrf":
            return reciprocal_rank(lists, self.rrf_k, self.weights)
        return normalised_sum(lists, self.weights, self.method)


# The variants the eval compares; "hybrid" in the retriever means DEFAULT_FUSION.
FUSIONS: dict[str, Fusion] = {
    "rrf": Fusion("rrf"),
    "rrf-weighted": Fusion("rrf", {"bm25": 0.3, "dense": 1.0}),
    "minmax": Fusion("minmax", {"bm25": 0.3, "dense": 0.7}),
    "zscore": Fusion("zscore", {"bm25": 0.3, "dense": 0.7}),
}
DEFAULT_FUSION_NAME = "zscore"
DEFAULT_FUSION: Callable[[Mapping[str, Candidates]], Candidates] = FUSIONS[DEFAULT_FUSION_NAME]
