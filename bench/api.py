"""The API's cost over the library, and its behaviour under concurrent load.

    python bench/api.py [--chunks 10000] [--queries 200] [--clients 20] [--duration 30]
    -> bench/results/api.json

1. Overhead: the same FAQ questions through `POST /api/v1/search` of a running
   `ragstream api` (one keep-alive httpx client, bearer token) and through
   `Workspace.search` in this process, alternating query by query so both see the same
   machine load. Added latency = API minus library, per query; p50/p95 of each.
2. Load: `--clients` threads search for `--duration` seconds while one more client
   uploads documents (~60 chunks each, embedded for real) one after another;
   throughput, p50/p95, errors (any non-200 or transport error), uploads finished.

The index is filled like bench/search_latency.py (FAQ sentence windows, each embedded
once, chunks get its vector + noise), in the workspace's SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
from search_latency import grow, percentiles, texts  # bench/search_latency.py

from ragstream.api.tokens import TokenStore, tokens_file
from ragstream.config import load_settings
from ragstream.workspace import Workspace

HERE = Path(__file__).parent
K = 5


def build_workspace(root: Path, chunks: int) -> Workspace:
    workspace = Workspace(load_settings({"workspace": root / ".ragstream"}, env={}))
    embedder = workspace.embedder
    workspace.store.set_meta(
        {"embedder": embedder.name, "dim": str(embedder.dim), "embedder_spec": "builtin"}
    )
    pool = texts()
    grow(workspace.store, chunks, pool, embedder.dim, embedder.embed(pool))
    return workspace


def start_server(workspace: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if "OPENAI" not in k}
    process = subprocess.Popen(
        [sys.executable, "-m", "ragstream.cli", "api", "--port", str(port), "-w", str(workspace)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return process
        except httpx2.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("ragstream api did not start")


def overhead(workspace: Workspace, http: httpx2.Client, queries: list[str]) -> dict[str, Any]:
    for q in queries[:10]:  # warm both sides
        workspace.search(q, k=K)
        http.post("/api/v1/search", json={"query": q, "k": K}).raise_for_status()
    lib, api = [], []
    for q in queries:
        started = time.perf_counter()
        workspace.search(q, k=K)
        lib.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        http.post("/api/v1/search", json={"query": q, "k": K}).raise_for_status()
        api.append((time.perf_counter() - started) * 1000)
    added = [a - b for a, b in zip(api, lib, strict=True)]
    return {
        "library_ms": percentiles(lib),
        "api_ms": percentiles(api),
        "added_ms": percentiles(added),
        "api_vs_library_p50": round(statistics.median(api) / statistics.median(lib), 2),
    }


def load(url: str, token: str, queries: list[str], clients: int, duration: float) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors: list[str] = []
    uploads: list[float] = []
    stop = threading.Event()
    lock = threading.Lock()
    pool = texts()

    def searcher(n: int) -> None:
        with httpx2.Client(base_url=url, headers=headers, timeout=60) as http:
            i = n
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    r = http.post("/api/v1/search", json={"query": queries[i % len(queries)]})
                    ok = r.status_code == 200
                    problem = "" if ok else f"{r.status_code} {r.text[:200]}"
                except httpx2.HTTPError as exc:
                    ok, problem = False, repr(exc)
                with lock:
                    (
                        latencies.append((time.perf_counter() - started) * 1000)
                        if ok
                        else errors.append(problem)
                    )
                i += clients

    def uploader() -> None:
        with httpx2.Client(base_url=url, headers=headers, timeout=300) as http:
            n = 0
            while not stop.is_set():
                body = "\n\n".join(
                    f"{pool[(n * 60 + j) % len(pool)]} (upload {n})" for j in range(60)
                )
                started = time.perf_counter()
                r = http.post(
                    "/api/v1/documents", files={"file": (f"upload-{n}.txt", body.encode())}
                )
                if r.status_code != 200 or r.json()["files"][0]["status"] != "ingested":
                    with lock:
                        errors.append(f"upload {r.status_code} {r.text[:200]}")
                else:
                    uploads.append(time.perf_counter() - started)
                n += 1

    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=uploader))
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "searches": len(latencies),
        "searches_per_second": round(len(latencies) / elapsed, 1),
        "search_ms": percentiles(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "uploads_finished": len(uploads),
        "upload_seconds_p50": round(statistics.median(uploads), 2) if uploads else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=18901)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "api.json")
    args = parser.parse_args()
    questions = [
        json.loads(line)["text"]
        for line in (HERE / "data" / "faq-en" / "queries.jsonl").read_text("utf-8").splitlines()
    ][: args.queries]
    with tempfile.TemporaryDirectory(prefix="ragstream-api-bench-") as tmp:
        workspace = build_workspace(Path(tmp), args.chunks)
        token, _ = TokenStore(tokens_file(workspace.settings.workspace)).create("bench")
        server = start_server(workspace.settings.workspace, args.port)
        url = f"http://127.0.0.1:{args.port}"
        try:
            headers = {"authorization": f"Bearer {token}"}
            with httpx2.Client(base_url=url, headers=headers, timeout=60) as http:
                cost = overhead(workspace, http, questions)
            print(f"search p50: library {cost['library_ms']['p50']:.2f} ms, API "
                  f"{cost['api_ms']['p50']:.2f} ms, added p50 {cost['added_ms']['p50']:.2f} ms "
                  f"p95 {cost['added_ms']['p95']:.2f} ms", file=sys.stderr)  # fmt: skip
            busy = load(url, token, questions, args.clients, args.duration)
            print(f"{busy['clients']} clients x {busy['seconds']} s with an uploader: "
                  f"{busy['searches_per_second']} searches/s, p50 {busy['search_ms']['p50']:.1f} ms, "
                  f"p95 {busy['search_ms']['p95']:.1f} ms, errors {busy['errors']}, "
                  f"uploads {busy['uploads_finished']}", file=sys.stderr)  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
            workspace.close()
    report = {
        "command": "python bench/api.py",
        "machine": f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores (shared)",
        "chunks": args.chunks,
        "k": K,
        "queries": len(questions),
        "search_overhead": cost,
        "concurrent_load": busy,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
