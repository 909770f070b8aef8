"""ColBERT passage vectors stored at ingest: storage, ingest cost, and rankings vs float32.

    OPENBLAS_NUM_THREADS=1 python bench/colbert_stored.py [--sets faq-en,faq-sv]
    # -> bench/results/colbert_stored.json; one BLAS thread: the float32 reference's
    # small products are ~50x slower with threads on a busy machine

Per set, in one run: ingest the corpus twice into throw-away SQLite workspaces, with
`reranker = "none"` and `"colbert"` (which also encodes and stores each chunk's token
vectors), and compare chunks/s. The float32 vectors the colbert ingest computed are
kept (before int8 compression) so each query's top MAX_DEPTH hybrid hits are scored two
ways: from the stored int8 blobs as `ask` does (`rerank_onnx.max_sims`: int8 query
too, integer product) and from float32 query and passage vectors. Both are fused
with the first stage by `rerank.fuse` for every depth/weight of the grid; the recipe is
chosen on the dev half (odd-numbered queries) by the worst-case nDCG@10 gain over the
sets and reported on the test half (even-numbered), as bench/eval_rerank.py does.
Also: blob bytes per chunk (median), and rerank ms per query (stored vs encoding the
passages at query time, a few queries).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragstream.config import load_settings
from ragstream.retrieve import colbert_codec, rerank_onnx
from ragstream.retrieve.evaluate import collect_candidates, documents_of, load_beir, score_run
from ragstream.retrieve.fusion import DEFAULT_FUSION
from ragstream.retrieve.rerank import RECIPES, fuse
from ragstream.workspace import Workspace

HERE = Path(__file__).parent
MAX_DEPTH = 30
DEPTHS = (5, 10, 20, 30)
WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
TIMED_QUERIES = 8


def ingest(dataset: Any, tmp: Path, reranker: str) -> tuple[Workspace, float, int]:
    settings = load_settings({}).replace(
        workspace=tmp / reranker, database_url=None, reranker=reranker
    )
    ws = Workspace.open(settings)
    ws.embedder.embed(["warm up"])  # model load is not ingest throughput
    started = time.perf_counter()
    report = ws.add_documents(dataset.documents())
    seconds = time.perf_counter() - started
    return ws, seconds, sum(f.n_chunks for f in report.files)


def measure(name: str) -> dict[str, Any]:
    dataset = load_beir(HERE / "data" / name)
    float32: dict[str, np.ndarray] = {}
    original = rerank_onnx.ColbertReranker.encode_passages

    def keeping(self: rerank_onnx.ColbertReranker, texts: Any) -> list[np.ndarray]:
        out = original(self, texts)
        float32.update(zip(texts, out, strict=True))
        return out

    with tempfile.TemporaryDirectory(prefix="ragstream-bench-") as tmp:
        plain, plain_s, n_chunks = ingest(dataset, Path(tmp), "none")
        plain.close()
        rerank_onnx.ColbertReranker.encode_passages = keeping  # type: ignore[method-assign]
        try:
            ws, colbert_s, _ = ingest(dataset, Path(tmp), "colbert")
        finally:
            rerank_onnx.ColbertReranker.encode_passages = original  # type: ignore[method-assign]
        try:
            store = ws.store
            lists, doc_of = collect_candidates(ws.retriever, dataset.queries, 50)
            ids = sorted(doc_of)
            blobs = store.token_vectors_for(ids)
            chunks = {c.id: c for c in store.chunks(ids)}
            colbert = rerank_onnx.ColbertReranker()
            per_query: dict[str, Any] = {}
            for qid, text in dataset.queries.items():
                top = DEFAULT_FUSION(lists[qid])[:MAX_DEPTH]
                q = colbert.encode_query(text)
                per_query[qid] = {
                    "fused": top,
                    "int8": rerank_onnx.max_sims(
                        q, [colbert_codec.split(blobs[c]) for c, _ in top]
                    ),
                    "float32": [
                        colbert.max_sim(q, float32[rerank_onnx._passage_text(chunks[c])])
                        for c, _ in top
                    ],
                }
            timings = rerank_times(ws, dataset.queries, lists, chunks)
        finally:
            ws.close()
    sizes = [len(b) for b in blobs.values()]
    tokens = [colbert_codec.HEADER.unpack_from(b)[1] for b in blobs.values()]
    diffs = [
        abs(a - b) for e in per_query.values() for a, b in zip(e["int8"], e["float32"], strict=True)
    ]
    return {
        "chunks": n_chunks,
        "ingest_chunks_per_s": {
            "none": round(n_chunks / plain_s, 2),
            "colbert": round(n_chunks / colbert_s, 2),
            "slowdown": round(colbert_s / plain_s, 2),
        },
        "blob_bytes_per_chunk": {
            "median": int(statistics.median(sizes)),
            "mean": int(statistics.mean(sizes)),
            "max": max(sizes),
            "total_mb": round(sum(sizes) / 1e6, 2),
            "float32_median": int(statistics.median(tokens)) * 384 * 4,
        },
        "tokens_per_chunk_median": int(statistics.median(tokens)),
        "int8_vs_float32_max_abs_score_diff": round(max(diffs), 5),
        "rerank_ms_p50": timings,
        "_data": {"per_query": per_query, "doc_of": doc_of, "qrels": dataset.qrels},
    }


def rerank_times(ws: Workspace, queries: dict, lists: dict, chunks: dict) -> dict[str, float]:
    """ColBERT on the top 20: stored vectors (the ask path) vs encoding the passages."""
    depth = RECIPES["colbert"].depth
    stored = rerank_onnx.ColbertReranker(stored=ws.store.token_vectors_for)
    query_time = rerank_onnx.ColbertReranker()
    seconds: dict[str, list[float]] = {"stored": [], "query_time": []}
    for qid in list(queries)[:TIMED_QUERIES]:
        top = [chunks[c] for c, _ in DEFAULT_FUSION(lists[qid])[:depth]]
        for label, model in (("stored", stored), ("query_time", query_time)):
            started = time.perf_counter()
            model.rerank(queries[qid], top)
            seconds[label].append(time.perf_counter() - started)
    return {k: round(statistics.median(v[1:]) * 1000, 1) for k, v in seconds.items()}


def run(data: dict, qids: list[str], scores: str | None, depth: int, weight: float) -> dict:
    ranked = {}
    for qid in qids:
        entry = data["per_query"][qid]
        ranking = list(entry["fused"])
        if scores:
            ranking = fuse(ranking[:depth], entry[scores][:depth], weight) + ranking[depth:]
        ranked[qid] = documents_of(ranking, data["doc_of"])
    return score_run(ranked, data["qrels"])


def choose(results: dict[str, Any]) -> dict[str, Any]:
    # the halves follow the query file's order, as bench/eval_rerank.py
    halves = {
        n: {
            "dev": [q for q in list(r["_data"]["per_query"])[1::2] if r["_data"]["qrels"].get(q)],
            "test": [q for q in list(r["_data"]["per_query"])[0::2] if r["_data"]["qrels"].get(q)],
        }
        for n, r in results.items()
    }
    out: dict[str, Any] = {}
    for scores in ("int8", "float32"):
        base = {
            n: {h: run(r["_data"], halves[n][h], None, 0, 0) for h in ("dev", "test")}
            for n, r in results.items()
        }

        def gain(
            depth: int, weight: float, half: str, scores: str = scores, base: dict = base
        ) -> float:
            return min(
                run(r["_data"], halves[n][half], scores, depth, weight)["nDCG@10"]
                - base[n][half]["nDCG@10"]
                for n, r in results.items()
            )

        grid = [(d, w) for d in DEPTHS for w in WEIGHTS]
        depth, weight = max(grid, key=lambda k: gain(*k, "dev"))
        fixed = (RECIPES["colbert"].depth, RECIPES["colbert"].weight)
        out[scores] = {
            "chosen_on_dev": {"depth": depth, "weight": weight},
            "test": {
                n: {
                    "none": base[n]["test"],
                    "chosen": run(r["_data"], halves[n]["test"], scores, depth, weight),
                    f"shipped recipe {fixed}": run(r["_data"], halves[n]["test"], scores, *fixed),
                }
                for n, r in results.items()
            },
            "worst_test_gain_chosen": round(gain(depth, weight, "test"), 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="faq-en,faq-sv")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = {name: measure(name) for name in args.sets.split(",")}
    summary = {
        "command": "python bench/colbert_stored.py --sets " + args.sets,
        "load_average_1min": [round(load, 1), round(os.getloadavg()[0], 1)],
        "sets": {n: {k: v for k, v in r.items() if k != "_data"} for n, r in results.items()},
        "quality": choose(results),
    }
    out = HERE / "results" / "colbert_stored.json"
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
