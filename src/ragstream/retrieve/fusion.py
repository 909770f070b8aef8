"""Fusing ranked candidate lists (one per retriever) into one ranking: pure functions.

Plain reciprocal-rank fusion weighs a weak retriever as much as a strong one and throws
the score gaps away; on the FAQ set it lost to dense search alone. The default keeps the
dense cosine *raw* (it is on a fixed scale, so it says how sure the model is) and adds
BM25 divided by the query's best BM25 score with a small weight. Where dense is sure (a
clear cosine gap) BM25 only breaks near-ties; where dense is unsure (flat cosines, e.g.
Swedish text through an English model) BM25 decides. The default (`AdaptiveFusion`) also
sets BM25's weight per query from how flat dense's top cosines are. Chosen on dev halves
of two sets by the worst-case margin over the better single retriever: see
bench/eval_faq.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ragstream.index.store import Candidates

Method = Literal["rrf", "sum"]
Norm = Literal["none", "max", "minmax", "zscore"]


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


def normalise(scores: list[float], method: Norm) -> list[float]:
    """Scores of one list made comparable across retrievers; constant lists map to 0.

    "none" keeps raw scores (cosines are already on a fixed scale), "max" divides by the
    best score (BM25: how close each candidate comes to the top one)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return []
    if method == "none":
        result = values
    elif method == "max":
        top = values.max()
        result = values / top if top > 0 else np.zeros_like(values)
    elif method == "minmax":
        spread = values.max() - values.min()
        result = (values - values.min()) / spread if spread > 0 else np.zeros_like(values)
    else:
        std = values.std()
        result = (values - values.mean()) / std if std > 0 else np.zeros_like(values)
    return [float(v) for v in result]


def normalised_sum(
    lists: Mapping[str, Candidates],
    weights: Mapping[str, float],
    norms: Mapping[str, Norm] | Norm = "zscore",
) -> Candidates:
    """Weighted sum of normalised scores. A candidate missing from a list gets that list's
    lowest normalised score: it was not in the retriever's top, so it ranks below them."""
    normalised = {}
    for name, cands in lists.items():
        norm = norms if isinstance(norms, str) else norms.get(name, "zscore")
        values = normalise([score for _, score in cands], norm)
        normalised[name] = dict(zip([cid for cid, _ in cands], values, strict=True))
    ids = {cid for cands in lists.values() for cid, _ in cands}
    scores = {}
    lowest = {name: min(by_id.values()) for name, by_id in normalised.items() if by_id}
    for cid in ids:
        scores[cid] = sum(
            weights.get(name, 0.0) * by_id.get(cid, lowest[name])
            for name, by_id in normalised.items()
            if by_id
        )
    return _ranked(scores)


def _ranked(scores: Mapping[str, float]) -> Candidates:
    # Ties broken by id so that a ranking never depends on dict order.
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Fusion:
    """A named fusion recipe; calling it fuses {"bm25": [...], "dense": [...]}."""

    method: Method
    weights: Mapping[str, float] = field(default_factory=lambda: {"bm25": 1.0, "dense": 1.0})
    norms: Mapping[str, Norm] = field(default_factory=lambda: {"bm25": "zscore", "dense": "zscore"})
    rrf_k: float = 60.0

    def __call__(self, lists: Mapping[str, Candidates]) -> Candidates:
        if self.method == "rrf":
            return reciprocal_rank(lists, self.rrf_k, self.weights)
        return normalised_sum(lists, self.weights, self.norms)


@dataclass(frozen=True)
class AdaptiveFusion:
    """Raw cosine plus BM25/max, with BM25's weight set per query by dense's confidence.

    Confidence is the spread of the dense list: top cosine minus the `nth` one. A wide
    spread means the model singles out a few chunks, so BM25 (weight `low`) only breaks
    near-ties; a flat top (spread <= `flat`, typical of text the model does not know
    well) gets BM25 weight `high`; in between the weight moves linearly."""

    low: float = 0.05
    high: float = 0.2
    flat: float = 0.05
    sure: float = 0.2
    nth: int = 10

    def __post_init__(self) -> None:
        if not (0 <= self.low <= self.high <= 1 and 0 <= self.flat < self.sure and self.nth >= 2):
            raise ValueError(f"{self}: needs 0 <= low <= high <= 1, 0 <= flat < sure and nth >= 2")

    def bm25_weight(self, dense: Candidates) -> float:
        if len(dense) < 2:  # nothing to compare the top cosine with
            return self.low
        spread = dense[0][1] - dense[min(self.nth, len(dense)) - 1][1]
        unsure = min(1.0, max(0.0, (self.sure - spread) / (self.sure - self.flat)))
        return self.low + (self.high - self.low) * unsure

    def __call__(self, lists: Mapping[str, Candidates]) -> Candidates:
        weight = self.bm25_weight(lists.get("dense", []))
        return normalised_sum(
            lists, {"bm25": weight, "dense": 1.0 - weight}, {"bm25": "max", "dense": "none"}
        )


FusionFn = Callable[[Mapping[str, Candidates]], Candidates]

# The variants the eval compares; "hybrid" in the retriever means DEFAULT_FUSION.
FUSIONS: dict[str, FusionFn] = {
    "rrf": Fusion("rrf"),
    "rrf-weighted": Fusion("rrf", {"bm25": 0.5, "dense": 1.0}, rrf_k=10),
    "minmax": Fusion("sum", {"bm25": 0.3, "dense": 0.7}, {"bm25": "minmax", "dense": "minmax"}),
    "zscore": Fusion("sum", {"bm25": 0.3, "dense": 0.7}),
    "cosine+bm25": Fusion("sum", {"bm25": 0.1, "dense": 0.9}, {"bm25": "max", "dense": "none"}),
    "adaptive": AdaptiveFusion(),
}
DEFAULT_FUSION_NAME = "adaptive"
DEFAULT_FUSION: FusionFn = FUSIONS[DEFAULT_FUSION_NAME]

# Per embedder (by the name its index records): e5's cosines sit in a narrow band (~0.75-0.9),
# so MiniLM's recipe let BM25 drown them (FAQ Swedish hybrid 0.508 against dense 0.679).
# Chosen by bench/multilingual.py on the odd-numbered queries of both FAQ sets (worst-case
# margin over the better single retriever), +0.0004 on the even ones: BM25 only breaks
# near-ties where the dense top is flat.
BY_EMBEDDER: dict[str, FusionFn] = {
    "multilingual-e5-small-int8": AdaptiveFusion(low=0.0, high=0.01, flat=0.005, sure=0.02),
}


def fusion_for(embedder_name: str) -> FusionFn:
    """The hybrid fusion tuned for this embedder's score scale (default: MiniLM's)."""
    return BY_EMBEDDER.get(embedder_name, DEFAULT_FUSION)
