"""The collection filter's cost and recall: run as `bench/search_latency.py --collections`.

One store is filled with N chunks (the FAQ windows and noisy vectors of
search_latency.py) dealt round-robin, 100-chunk document by document, into 20
collections. Three readers search it, interleaved query by query in one run so the
shared machine's noise falls on all alike: everyone (no filter), a user allowed 1
collection (5% of the chunks) and one allowed 10 (50%). Timed per query: the whole
`Retriever.search` (embed, BM25 and dense on two threads, fusion, fetch), and dense and
keyword search alone at the retriever's depth. Recall: each filtered dense top-k against
an exact filtered scan (numpy over every stored vector, masked by collection).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from functools import partial
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

from ragstream.index.embedder import create_embedder
from ragstream.index.store import Store
from ragstream.retrieve.retriever import Retriever

N_COLLECTIONS = 20
READERS: dict[str, list[str] | None] = {
    "unfiltered": None,
    "allowed_1": ["c00"],
    "allowed_10": [f"c{i:02d}" for i in range(10)],
}


def exact_matrix(store: Store) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every stored chunk's id, vector and collection, read back through the store."""
    ids, collections = [], []
    for doc in store.documents():
        chunk_ids = store.chunk_ids(doc.path)
        ids += chunk_ids
        collections += [doc.collection] * len(chunk_ids)
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(ids), 5000):
        found.update(store.vectors_for(ids[start : start + 5000]))
    return ids, np.stack([found[i] for i in ids]), np.asarray(collections)


def recall(
    store: Store,
    vectors: list[np.ndarray],
    matrix: tuple[list[str], np.ndarray, np.ndarray],
    k: int,
) -> dict[str, float]:
    ids, m, collections = matrix
    out = {}
    for name, allowed in READERS.items():
        mask = np.ones(len(ids), bool) if allowed is None else np.isin(collections, allowed)
        got = []
        for q in vectors:
            scores = np.where(mask, m @ q, -np.inf)
            exact = {ids[i] for i in np.argsort(-scores)[:k]}
            approx = {cid for cid, _ in store.dense_search(q, k, collections=allowed)}
            got.append(len(exact & approx) / k)
        out[name] = round(float(np.mean(got)), 4)
    return out


def main(args: argparse.Namespace) -> None:
    size = max(int(s) for s in args.sizes.split(","))
    embedder = create_embedder("builtin")
    pool = texts()
    pool_vectors = embedder.embed(pool)
    questions = [
        json.loads(line)["text"]
        for line in (HERE / "data" / "faq-en" / "queries.jsonl").read_text("utf-8").splitlines()
    ][: args.queries]
    with tempfile.TemporaryDirectory(prefix="ragstream-collections-") as tmp:
        store = open_bench_store(args.store, Path(tmp), embedder.dim)
        existing = {c.name for c in store.collections()}
        for i in range(N_COLLECTIONS):
            if f"c{i:02d}" not in existing:
                store.create_collection(f"c{i:02d}")
        if args.store == "postgres":
            build = refill_postgres(store, size, pool, embedder.dim, pool_vectors, N_COLLECTIONS)
        else:
            build = grow(store, size, pool, embedder.dim, pool_vectors, N_COLLECTIONS)
        retriever = Retriever(store, embedder)
        depth = retriever.depth
        for q in questions[:10]:  # warm-up: the vector matrix, caches, the HNSW pages
            for allowed in READERS.values():
                retriever.search(q, k=args.k, collections=allowed)
        parts: dict[str, dict[str, list[float]]] = {
            name: {"total": [], "dense": [], "bm25": []} for name in READERS
        }
        vectors = []
        for n, q in enumerate(questions):
            vector = embedder.embed_query(q)
            vectors.append(vector)
            names = list(READERS)
            for name in names[n % 3 :] + names[: n % 3]:  # rotate who goes first
                allowed = READERS[name]
                t = parts[name]
                search = partial(retriever.search, q, k=args.k, collections=allowed)
                t["total"].append(timed(search)[0])
                t["dense"].append(
                    timed(partial(store.dense_search, vector, depth, collections=allowed))[0]
                )
                t["bm25"].append(
                    timed(partial(store.keyword_search, q, depth, collections=allowed))[0]
                )
        matrix = exact_matrix(store)
        recalls = {f"recall_at_{k}": recall(store, vectors, matrix, k) for k in (args.k, depth)}
        chunks = store.count_chunks()
        store.close()
    latency: dict[str, Any] = {}
    for name, t in parts.items():
        latency[name] = {part: percentiles(values) for part, values in t.items()}
        if name != "unfiltered":
            base = parts["unfiltered"]
            latency[name]["vs_unfiltered"] = {
                part: {
                    "p50": round(statistics.median(t[part]) / statistics.median(base[part]), 3),
                    "p95": round(
                        latency[name][part]["p95"] / latency["unfiltered"][part]["p95"], 3
                    ),
                }
                for part in t
            }
    report = {
        "command": f"python bench/search_latency.py --collections --store {args.store} "
        f"--sizes {size}",
        "store": args.store,
        "chunks": chunks,
        "collections": N_COLLECTIONS,
        "readers": {n: (a if a is None else len(a)) for n, a in READERS.items()},
        "queries": len(questions),
        "k": args.k,
        "depth": depth,
        "build_seconds": round(build, 1),
        "latency_ms": latency,
        **recalls,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    if args.store == "postgres":
        report["fill"] = POSTGRES_FILL
    for name in ("allowed_1", "allowed_10"):
        r = latency[name]["vs_unfiltered"]["total"]
        print(f"{args.store} {chunks} chunks, {name}: search p50 {latency[name]['total']['p50']:.1f} ms "
              f"({r['p50']}x unfiltered), p95 {latency[name]['total']['p95']:.1f} ms ({r['p95']}x); "
              f"dense recall@{args.k} {recalls[f'recall_at_{args.k}'][name]}", file=sys.stderr)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
