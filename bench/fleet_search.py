"""Search latency through the load balancer, 3 app replicas vs 1 (bench/fleet.py's
`search` part): the real image's containers (tests/queue/container_fleet.py) on one
PostgreSQL, Caddy with cookie stickiness in front, `clients` concurrent API clients
(each its own session and sticky cookie) searching. Both balancers run at once over
the same replicas (one in front of replica 1 only, one in front of all three) and the
rounds alternate between them, so the shared machine's load swings hit both alike.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from ragstream.api.tokens import PostgresTokenStore
from ragstream.index.postgres import PostgresStore
from tests.queue.container_fleet import Fleet, ensure_fleet_image, wait_until
from tests.queue.fleet import WORDS, document, indexed_exactly_once, jobs
from tests.support.docker import ensure_base_image, ensure_engine
from tests.support.postgres import PostgresServer


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_round(url: str, token: str, clients: int, queries: int, seed: int) -> dict[str, Any]:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start_line = threading.Barrier(clients)

    def client(i: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        rng = random.Random(seed * 1000 + i)
        s.get(url + "/api/v1/health", timeout=30)  # get the sticky cookie first
        start_line.wait()
        for _ in range(queries):
            body = {"query": " ".join(rng.sample(WORDS, 3)), "k": 5}
            t = time.perf_counter()
            r = s.post(url + "/api/v1/search", json=body, timeout=120)
            took = time.perf_counter() - t
            with lock:
                if r.status_code == 200:
                    latencies.append(took)
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return {"latencies": latencies, "failures": failures[0], "seconds": seconds}


def search_through_lb(
    server: PostgresServer, *, docs: int, clients: int, queries: int, repeats: int
) -> dict[str, Any]:
    if ensure_engine() is None:
        raise SystemExit("the search part needs Docker (apt-get install docker.io)")
    image = ensure_fleet_image(ensure_base_image())
    name = "b_" + uuid.uuid4().hex[:10]
    server.admin(f"CREATE DATABASE {name}")
    url = server.url(name)
    PostgresStore(url).close()
    token, _ = PostgresTokenStore(url).create("bench")
    with tempfile.TemporaryDirectory() as tmp:
        blobs = Path(tmp) / "blobs"
        blobs.mkdir()
        os.chmod(blobs, 0o777)  # the image runs as uid 10001
        env = {"RAGSTREAM_DATABASE_URL": url, "RAGSTREAM_BLOBS": "/blobs",
               "RAGSTREAM_PASSWORD": "bench-Pa55word"}  # fmt: skip
        fleet = Fleet(image, Path(tmp) / "fleet", env, mounts=["-v", f"{blobs}:/blobs"])
        try:
            apps = [fleet.start_app() for _ in range(3)]
            worker = fleet.start_worker()
            fleet.wait_ready()
            # the corpus, through the API and a worker, as a fleet would get it
            direct = f"http://127.0.0.1:{fleet.apps[apps[0]]}"
            auth = {"Authorization": f"Bearer {token}"}
            for start in range(0, docs, 20):
                files = [("file", (f"d{i:03}.md", document(i, 400), "text/markdown"))
                         for i in range(start, min(docs, start + 20))]  # fmt: skip
                requests.post(direct + "/api/v1/documents", files=files, headers=auth,
                              timeout=120).raise_for_status()  # fmt: skip
            wait_until(
                lambda: [r[2] for r in jobs(url)] == ["done"] * docs, 900, "the corpus indexed"
            )
            fleet.kill(worker)  # nothing else competes for the CPU while measuring
            chunks = sum(indexed_exactly_once(url).values())
            balancers = {"1_replica": fleet.balancer(apps[:1]), "3_replicas": fleet.balancer(apps)}
            for port in fleet.apps.values():  # each replica loads its embedder before timing
                for _ in range(3):
                    requests.post(f"http://127.0.0.1:{port}/api/v1/search", headers=auth,
                                  json={"query": "warm up", "k": 5}, timeout=120)  # fmt: skip
            load_before = os.getloadavg()
            runs: dict[str, list[dict[str, Any]]] = {k: [] for k in balancers}
            for r in range(repeats):
                order = list(balancers) if r % 2 == 0 else list(reversed(balancers))
                for label in order:
                    runs[label].append(one_round(balancers[label], token, clients, queries, r))
            load_after = os.getloadavg()
        finally:
            fleet.close()
    result: dict[str, Any] = {
        "clients": clients, "queries_per_client": queries, "rounds": repeats,
        "docs": docs, "chunks": chunks, "k": 5,
        "load_1min_before_after": [round(load_before[0], 1), round(load_after[0], 1)],
    }  # fmt: skip
    for label, rounds in runs.items():
        pooled = [x for run in rounds for x in run["latencies"]]
        result[label] = {
            "p50_ms": round(statistics.median(pooled) * 1000, 1),
            "p95_ms": round(percentile(pooled, 0.95) * 1000, 1),
            "searches_per_s": round(
                sum(len(run["latencies"]) for run in rounds) / sum(run["seconds"] for run in rounds), 1
            ),
            "failures": sum(run["failures"] for run in rounds),
            "p50_ms_by_round": [round(statistics.median(run["latencies"]) * 1000, 1) for run in rounds],
        }  # fmt: skip
    one, three = result["1_replica"], result["3_replicas"]
    result["ratio_3_over_1"] = {"p50": round(three["p50_ms"] / one["p50_ms"], 2),
                                "p95": round(three["p95_ms"] / one["p95_ms"], 2)}  # fmt: skip
    return result
