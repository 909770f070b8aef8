"""Evaluating whole pipelines: first stage + reranker, abstention, added latency.

For each query the shipped first stage (hybrid) ranks the candidates; the reranker
rescores the top `depth` and `rerank.fuse` blends the two, exactly as the retriever
does. Abstention is scored twice per question: against the corpus with its answer
(answerable) and without it (unanswerable: the answer's chunks are dropped from the
candidate lists, BM25's idf still counting them). A pipeline abstains on a question when
its `abstain.Abstainer` says the top hits do not answer it, exactly as `ask` decides.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ragstream.index.store import Store
from ragstream.models import Hit
from ragstream.retrieve.abstain import Abstainer, abstainer
from ragstream.retrieve.evaluate import Qrels, documents_of
from ragstream.retrieve.fusion import Candidates
from ragstream.retrieve.rerank import Recipe, Reranker, fuse


@dataclass(frozen=True)
class Pipeline:
    name: str  # e.g. "hybrid+colbert"
    reranker: Reranker | None
    recipe: Recipe
    reranker_name: str = "none"
    abstainer: Abstainer | None = None  # None: the default `abstain` setting


def evaluate_pipeline(
    pipeline: Pipeline,
    store: Store,
    queries: Mapping[str, str],
    lists: Mapping[str, Mapping[str, Candidates]],
    doc_of_chunk: Mapping[str, str],
    qrels: Qrels,
    rank: Callable[[Mapping[str, Candidates]], Candidates],
    top_k: int = 5,
) -> dict[str, Any]:
    """Document rankings per query (for score_run), abstention rates, the median time
    reranking and abstaining add per question."""
    runs: dict[str, list[str]] = {}
    abstained: dict[str, list[bool]] = {"answerable": [], "unanswerable": []}
    seconds: list[float] = []
    judging: list[float] = []
    judge = pipeline.abstainer or abstainer(None)
    depth = pipeline.recipe.depth if pipeline.reranker else 0
    for qid, per_query in lists.items():
        relevant = {d for d, g in qrels.get(qid, {}).items() if g > 0}
        if not relevant:
            continue
        fused = rank(per_query)
        dense = dict(per_query.get("dense", []))
        scores: dict[str, float] = {}
        if pipeline.reranker and depth:
            # the top `depth` with the answer and without it: one reranker call for both
            others = [c for c in fused if doc_of_chunk.get(c[0]) not in relevant][:depth]
            pool = list(dict.fromkeys(cid for cid, _ in [*fused[:depth], *others]))
            chunks = {c.id: c for c in store.chunks(pool)}
            pool = [cid for cid in pool if cid in chunks]
            started = time.perf_counter()
            values = pipeline.reranker.rerank(queries[qid], [chunks[cid] for cid in pool])
            seconds.append(time.perf_counter() - started)
            scores = dict(zip(pool, values, strict=True))
        for scenario, drop in (("answerable", set()), ("unanswerable", relevant)):
            ranking = [c for c in fused if doc_of_chunk.get(c[0]) not in drop]
            if scores:
                head = [c for c in ranking[:depth] if c[0] in scores]
                reranked = fuse(head, [scores[cid] for cid, _ in head], pipeline.recipe.weight)
                ranking = reranked + ranking[len(head) :]
            if scenario == "answerable":
                runs[qid] = documents_of(ranking, doc_of_chunk)
            top = {c.id: c for c in store.chunks([cid for cid, _ in ranking[:top_k]])}
            hits = [
                Hit(top[cid], score, {}, _scores(cid, dense, scores, pipeline.reranker_name))
                for cid, score in ranking[:top_k]
                if cid in top
            ]
            started = time.perf_counter()
            abstained[scenario].append(not judge.answers(queries[qid], hits))
            judging.append(time.perf_counter() - started)
    return {
        "runs": runs,
        "abstention": {
            f"{s} abstained": round(sum(v) / len(v), 4) if v else 0.0 for s, v in abstained.items()
        },
        "rerank_ms_p50": round(statistics.median(seconds) * 1000, 1) if seconds else 0.0,
        "abstain_ms_p50": round(statistics.median(judging) * 1000, 1) if judging else 0.0,
    }


def _scores(
    cid: str, dense: Mapping[str, float], reranked: Mapping[str, float], name: str
) -> dict[str, float]:
    """The raw scores `search` would put on the hit: dense cosine, the reranker's."""
    found = {"dense": dense[cid]} if cid in dense else {}
    return found | ({name: reranked[cid]} if cid in reranked else {})
