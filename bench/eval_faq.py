"""Retrieval quality on the FAQ sets, and the choice of the default fusion, made honestly.

    python bench/eval_faq.py            # -> bench/results/eval_faq.json (~5 min on 2 cores)

For faq-en (the target set) and faq-sv (the same FAQ in Swedish: MiniLM is an English
model, so here BM25 is the stronger retriever) it ingests the corpus with the builtin
embedder, retrieves every query once (BM25 and dense, top 50) and scores bm25, dense,
the shipped hybrid and a grid of fusion recipes from the same candidates, with the
retriever's own code. Recipes are *chosen* on the dev halves (odd-numbered queries) of
both sets by the worst-case nDCG@10 margin over the better single retriever, and
*reported* on the test halves (even-numbered queries) and on the full sets. "summary"
puts the shipped hybrid next to the baselines and the targets.

It also scores what did *not* make the default, so the negative result stays checkable:
Rocchio pseudo-relevance feedback in embedding space (q' = q + b * mean of the top-m
hybrid chunks' vectors, one more dense search, fused again), under "prf".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragstream.config import load_settings
from ragstream.retrieve.evaluate import (
    collect_candidates,
    documents_of,
    load_beir,
    rankings,
    score_run,
)
from ragstream.retrieve.fusion import (
    DEFAULT_FUSION,
    DEFAULT_FUSION_NAME,
    FUSIONS,
    AdaptiveFusion,
    Fusion,
    FusionFn,
)
from ragstream.workspace import Workspace

HERE = Path(__file__).parent
SETS = ("faq-en", "faq-sv")
TARGETS = {"Recall@5": 0.85, "MRR@10": 0.70}
PRF = ((2, 0.5), (3, 0.25), (3, 0.5), (5, 0.25))  # (feedback chunks m, weight b)


def grid() -> dict[str, FusionFn]:
    recipes: dict[str, FusionFn] = {}
    for k in (10, 60):
        for w in (0.2, 0.5, 1.0):
            recipes[f"rrf k={k} bm25={w}"] = Fusion("rrf", {"bm25": w, "dense": 1.0}, rrf_k=k)
    for norm in ("zscore", "minmax"):
        for w in (0.1, 0.2, 0.3, 0.4, 0.5):
            weights = {"bm25": w, "dense": round(1 - w, 2)}
            recipes[f"{norm} bm25={w}"] = Fusion("sum", weights, {"bm25": norm, "dense": norm})
    for a in (0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        weights = {"bm25": round(1 - a, 2), "dense": a}
        recipes[f"cosine+bm25/max dense={a}"] = Fusion(
            "sum", weights, {"bm25": "max", "dense": "none"}
        )
    for low, high in ((0.05, 0.2), (0.05, 0.3), (0.1, 0.3), (0.05, 0.5)):
        for flat, sure in ((0.05, 0.15), (0.05, 0.2), (0.1, 0.2)):
            recipes[f"adaptive bm25={low}-{high} spread={flat}-{sure}"] = AdaptiveFusion(
                low, high, flat, sure
            )
    return recipes


def rocchio_lists(ws: Workspace, queries: dict[str, str], lists: dict, m: int, b: float) -> dict:
    """Per query: the BM25 list and a dense list re-searched with the fed-back query."""
    out = {}
    for qid, text in queries.items():
        top = [cid for cid, _ in DEFAULT_FUSION(lists[qid])[:m]]
        stored = ws.store.vectors_for(top)
        vector = ws.embedder.embed_query(text)
        if stored:
            vector = vector + b * np.mean([stored[c] for c in top if c in stored], axis=0)
            vector = vector / np.linalg.norm(vector)
        out[qid] = {"bm25": lists[qid]["bm25"], "dense": ws.store.dense_search(vector, 50)}
    return out


def candidates_of(name: str) -> tuple[Any, dict, dict]:
    dataset = load_beir(HERE / "data" / name)
    with tempfile.TemporaryDirectory(prefix="ragstream-bench-") as tmp:
        settings = load_settings({}).replace(workspace=Path(tmp), database_url=None)
        with Workspace.open(settings) as ws:
            started = time.perf_counter()
            ws.add_documents(dataset.documents())
            print(f"{name}: ingested in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            lists, doc_of_chunk = collect_candidates(ws.retriever, dataset.queries, 50)
            prf = {(m, b): rocchio_lists(ws, dataset.queries, lists, m, b) for m, b in PRF}
            ids = {c for per in prf.values() for q in per.values() for c, _ in q["dense"]}
            doc_of_chunk |= {c.id: c.path for c in ws.store.chunks(sorted(ids))}
            retriever_rank = ws.retriever.rank
            embedder = ws.embedder.name
    return (
        dataset,
        {"lists": lists, "doc_of": doc_of_chunk, "rank": retriever_rank, "prf": prf},
        {"embedder": embedder},
    )


def fusion_cost(lists: dict, rounds: int = 5) -> dict[str, float]:
    """Median microseconds per query of the shipped and the previous fusion, interleaved."""
    times: dict[str, list[float]] = {DEFAULT_FUSION_NAME: [], "cosine+bm25": []}
    for _ in range(rounds):
        for per_query in lists.values():
            for name in times:
                started = time.perf_counter()
                FUSIONS[name](per_query)
                times[name].append((time.perf_counter() - started) * 1e6)
    medians = {name: round(float(np.median(t)), 1) for name, t in times.items()}
    return {
        **{f"{name} us": v for name, v in medians.items()},
        "ratio": round(medians[DEFAULT_FUSION_NAME] / medians["cosine+bm25"], 3),
    }


def either_top5(lists: dict, doc_of: dict, qrels: dict) -> float:
    """Share of queries whose answer is in BM25's top 5 or dense's top 5: a ceiling-ish
    for Recall@5 of anything that only reorders these two lists' heads."""
    found = 0
    for qid, per_query in lists.items():
        heads = {d for cands in per_query.values() for d in documents_of(cands, doc_of)[:5]}
        found += any(qrels.get(qid, {}).get(d, 0) > 0 for d in heads)
    return round(found / len(lists), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "eval_faq.json")
    args = parser.parse_args()
    if not all((HERE / "data" / s / "corpus.jsonl").exists() for s in SETS):
        subprocess.run([sys.executable, str(HERE / "make_faq_beir.py")], check=True)

    recipes = grid()
    per_set: dict[str, Any] = {}
    for name in SETS:
        dataset, c, info = candidates_of(name)
        qids = list(dataset.queries)
        splits = {"dev": set(qids[1::2]), "test": set(qids[0::2]), "all": set(qids)}

        def score(mode: str, fn: Any, split: str, source: Any = None) -> dict[str, float]:
            source = c["lists"] if source is None else source  # noqa: B023
            lists = {q: v for q, v in source.items() if q in splits[split]}  # noqa: B023
            return score_run(rankings(lists, c["doc_of"], fn, mode), dataset.qrels)  # noqa: B023

        per_set[name] = {
            "embedder": info["embedder"],
            "fusion_cost": fusion_cost(c["lists"]),
            "answer in bm25 or dense top 5": either_top5(c["lists"], c["doc_of"], dataset.qrels),
            "queries": len(qids),
            **{
                split: {
                    "bm25": score("bm25", None, split),
                    "dense": score("dense", None, split),
                    "hybrid": score("hybrid", c["rank"], split),
                    "fusions": {n: score("fused", f, split) for n, f in FUSIONS.items()},
                    "grid": {n: score("fused", f, split) for n, f in recipes.items()},
                    "prf": {
                        f"rocchio m={m} b={b} + {DEFAULT_FUSION_NAME}": score(
                            "fused", DEFAULT_FUSION, split, c["prf"][(m, b)]
                        )
                        for m, b in PRF
                    },
                }
                for split in splits
            },
        }

    def margin(recipe: str, split: str) -> float:
        """Worst case over the sets of nDCG@10 minus the better single retriever's."""
        return min(
            r[split]["grid"][recipe]["nDCG@10"]
            - max(r[split]["bm25"]["nDCG@10"], r[split]["dense"]["nDCG@10"])
            for r in per_set.values()
        )

    ranked = sorted(recipes, key=lambda n: -margin(n, "dev"))
    summary = {
        name: {
            method: {m: round(v, 3) for m, v in scores.items()}
            for method, scores in (
                ("bm25", r["all"]["bm25"]),
                ("dense", r["all"]["dense"]),
                ("plain rrf", r["all"]["fusions"]["rrf"]),
                ("cosine+bm25 (previous default)", r["all"]["fusions"]["cosine+bm25"]),
                (f"hybrid = {DEFAULT_FUSION_NAME} (shipped)", r["all"]["hybrid"]),
            )
        }
        | {
            "targets met": {m: r["all"]["hybrid"][m] >= t for m, t in TARGETS.items()}
            | {
                "nDCG@10 >= better single": r["all"]["hybrid"]["nDCG@10"]
                >= max(r["all"]["bm25"]["nDCG@10"], r["all"]["dense"]["nDCG@10"])
            }
        }
        for name, r in per_set.items()
    }
    result = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "command": "python bench/eval_faq.py",
        "shipped_default": DEFAULT_FUSION_NAME,
        "chosen_on_dev": ranked[0],
        "summary": summary,
        "margins": {
            n: {"dev": round(margin(n, "dev"), 4), "test": round(margin(n, "test"), 4)}
            for n in ranked
        },
        "sets": per_set,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, r in per_set.items():
        for mode in ("bm25", "dense", "hybrid"):
            m = r["all"][mode]
            print(f"{name:7} {mode:7} " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
        for label, m in [
            ("cosine+bm25", r["all"]["fusions"]["cosine+bm25"]),
            *r["all"]["prf"].items(),
        ]:
            print(f"{name:7} {label}: " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
    print(
        f"best recipe on dev: {ranked[0]} (dev margin {margin(ranked[0], 'dev'):+.3f}, "
        f"test margin {margin(ranked[0], 'test'):+.3f}); shipped: {DEFAULT_FUSION_NAME}"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
