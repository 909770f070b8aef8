"""The fleet with real parts: three app containers and two worker containers of the real
image, one PostgreSQL (the suite's), the documents' bytes in S3 (moto's server), Caddy
in front with cookie stickiness. 200 documents are uploaded through the API from eight
clients while six clients search; a worker is killed (SIGKILL) in the middle of a job
and an app replica in the middle of its clients' sessions. Every document ends indexed
exactly once, and no search fails except on the killed replica's own sessions, whose
next request (same cookie) lands on a live replica."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from ragstream.api.tokens import PostgresTokenStore
from ragstream.index.postgres import PostgresStore
from tests.queue.container_fleet import (
    STICKY_COOKIE,
    UPSTREAM_HEADER,
    Fleet,
    ensure_fleet_image,
    wait_until,
)
from tests.queue.fleet import WORDS, document, indexed_exactly_once, jobs

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.aws, pytest.mark.slow,
              pytest.mark.timeout(1800)]  # fmt: skip

N_DOCS = 200
UPLOADERS = 8
SEARCHERS = 6
PER_REQUEST = 5  # files per upload request
BIG = "doc000.md"  # big enough to be caught mid-job


@pytest.fixture
def fleet(base_image: str, postgres_url: str, aws: Any, tmp_path: Path) -> Iterator[Fleet]:
    image = ensure_fleet_image(base_image)
    aws.client("s3").create_bucket(
        Bucket="rs-fleet", CreateBucketConfiguration={"LocationConstraint": aws.region}
    )
    PostgresStore(postgres_url).close()  # migrations once, before the replicas race
    env = {"RAGSTREAM_DATABASE_URL": postgres_url, "RAGSTREAM_BLOBS": "s3://rs-fleet/queue",
           "RAGSTREAM_PASSWORD": "fleet-Pa55word", **aws.env}  # fmt: skip
    made = Fleet(image, tmp_path / "fleet", env)
    try:
        yield made
    finally:
        made.close()


@dataclass(frozen=True)
class Call:
    start: float
    end: float
    cookie: str | None  # the sticky cookie sent (None: a new session)
    upstream: str | None  # the replica that answered (None: it failed)
    error: str = ""
    cookie_after: str | None = None


class Clients:
    """What every client saw, call by call."""

    def __init__(self, lb: str, token: str) -> None:
        self.lb, self.token = lb, token
        self.seen: dict[str, list[Call]] = defaultdict(list)
        self.dropped: list[tuple[str, list[str], str]] = []  # (who, batch, last error)
        self.lock = threading.Lock()

    def session(self) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        return s

    def call(self, who: str, s: requests.Session, method: str, path: str, **kw: Any) -> bool:
        cookie, start = s.cookies.get(STICKY_COOKIE), time.monotonic()
        try:
            r = s.request(method, self.lb + path, timeout=120, **kw)
            ok, upstream, error = r.status_code == 200, r.headers.get(UPSTREAM_HEADER), ""
            if not ok:
                error = f"{r.status_code} {r.text[:200]}"
        except requests.RequestException as exc:
            ok, upstream, error = False, None, repr(exc)[:200]
        call = Call(start, time.monotonic(), cookie, upstream if ok else None, error,
                    s.cookies.get(STICKY_COOKIE))  # fmt: skip
        with self.lock:
            self.seen[who].append(call)
        return ok

    def last_upstream(self, who: str) -> str | None:
        with self.lock:
            return next((c.upstream for c in reversed(self.seen[who]) if c.upstream), None)

    def replica_of_cookie(self) -> dict[str, str]:
        """Each sticky cookie value -> the replica it pinned (from the answers)."""
        return {c.cookie_after: c.upstream for calls in self.seen.values() for c in calls
                if c.upstream and c.cookie_after}  # fmt: skip


def searcher(clients: Clients, who: str, stop: threading.Event) -> None:
    s, rng = clients.session(), random.Random(who)
    while not stop.is_set():
        query = " ".join(rng.sample(WORDS, 2))
        if not clients.call(who, s, "POST", "/api/v1/search", json={"query": query, "k": 3}):
            time.sleep(0.2)  # then retried: the same session, the same sticky cookie
        stop.wait(0.15)


def uploader(clients: Clients, who: str, names: list[str], progress: list[int]) -> None:
    s = clients.session()
    for start in range(0, len(names), PER_REQUEST):
        batch = names[start : start + PER_REQUEST]
        files = [("file", (n, document(int(n[3:6]), 120), "text/markdown")) for n in batch]
        for _ in range(5):  # a batch cut by the killed replica is sent again
            if clients.call(who, s, "POST", "/api/v1/documents", files=files):
                break
            time.sleep(0.5)
        else:  # never accepted: the test fails on it, with what the replicas answered
            with clients.lock:
                clients.dropped.append((who, batch, clients.seen[who][-1].error))
        with clients.lock:
            progress[0] += len(batch)


def test_a_fleet_survives_a_killed_worker_and_a_killed_replica(
    fleet: Fleet, postgres_url: str
) -> None:
    token, _ = PostgresTokenStore(postgres_url).create("fleet")
    apps = [fleet.start_app() for _ in range(3)]
    workers = [fleet.start_worker(visibility=8) for _ in range(2)]
    fleet.wait_ready()
    clients = Clients(fleet.balancer(apps), token)

    stop = threading.Event()
    searchers = [threading.Thread(target=searcher, args=(clients, f"s{i}", stop), daemon=True)
                 for i in range(SEARCHERS)]  # fmt: skip
    for t in searchers:
        t.start()
    wait_until(lambda: all(clients.last_upstream(f"s{i}") for i in range(SEARCHERS)), 180,
               "every searcher's first answer")  # fmt: skip

    # a worker killed mid-job: the big document's worker, while it embeds it
    big = [("file", (BIG, document(0, 8000), "text/markdown"))]
    assert clients.call("big", clients.session(), "POST", "/api/v1/documents", files=big)
    wait_until(lambda: jobs(postgres_url)[0][2] == "running", 120, "a worker to claim the big job")
    victim_worker = jobs(postgres_url)[0][4]
    fleet.kill(victim_worker)
    assert jobs(postgres_url)[0][2:5] == ("running", 1, victim_worker)  # killed mid-job
    survivor = next(w for w in workers if w != victim_worker)

    names = [f"doc{i:03}.md" for i in range(1, N_DOCS)]
    progress = [0]
    uploaders = [threading.Thread(target=uploader, args=(clients, f"u{i}", names[i::UPLOADERS],
                 progress), daemon=True) for i in range(UPLOADERS)]  # fmt: skip
    for t in uploaders:
        t.start()

    # an app replica killed mid-session: the one serving searcher s0, with uploads running
    wait_until(lambda: progress[0] >= 40, 300, "the first uploads")
    victim_port = clients.last_upstream("s0")
    assert victim_port
    victim_app = fleet.port_of(victim_port)
    killed_at = time.monotonic()
    fleet.kill(victim_app)
    kill_done = time.monotonic()  # docker kill returns once the signal is delivered
    for t in uploaders:
        t.join(600)
    assert progress[0] == N_DOCS - 1
    assert clients.dropped == [], clients.dropped[:3]

    def drained() -> bool:
        states = {row[2] for row in jobs(postgres_url)}
        return states == {"done"}

    wait_until(drained, 600, "every job done")
    # every searcher has answers after the kill, so each was seen to reconnect
    wait_until(lambda: all(clients.seen[f"s{i}"][-1].start > killed_at + 2 and
                           clients.seen[f"s{i}"][-1].upstream for i in range(SEARCHERS)), 60,
               "searches after the kill")  # fmt: skip
    stop.set()
    for t in searchers:
        t.join(60)

    # every document indexed exactly once (its chunks one copy, the manifest agreeing)
    chunks = indexed_exactly_once(postgres_url)
    assert sorted(p.rsplit("/", 1)[-1] for p in chunks) == [BIG, *names]
    assert chunks[next(p for p in chunks if p.endswith(BIG))] > 10
    rows = jobs(postgres_url)
    big_job = next(r for r in rows if r[1].endswith(BIG))
    assert big_job[2:5] == ("done", 2, survivor), big_job  # retried by the other worker
    listed = requests.get(clients.lb + "/api/v1/documents", timeout=30,
                          headers={"Authorization": f"Bearer {token}"}).json()["documents"]  # fmt: skip
    assert len(listed) == N_DOCS

    # failures: only calls in flight on the killed replica when it died, on its own
    # sessions (the cookie sent pinned it, or a new session was given it); every
    # such client's later calls answered, from the live replicas
    survivors = {f"127.0.0.1:{fleet.apps[a]}" for a in apps if a != victim_app}
    pinned = clients.replica_of_cookie()
    for who, calls in clients.seen.items():
        failed = [c for c in calls if c.upstream is None]
        for c in failed:
            assert c.start < kill_done and c.end >= killed_at, (who, c)
            assert pinned.get(c.cookie or "", victim_port) == victim_port, (who, c)
        if failed:
            later = [c for c in calls if c.start > failed[-1].end]
            assert later and all(c.upstream in survivors for c in later), (who, later)
    assert {c.upstream for c in clients.seen["s0"] if c.start > kill_done} <= survivors
    uploads_by = {c.upstream for who, calls in clients.seen.items() if who.startswith("u")
                  for c in calls if c.upstream}  # fmt: skip
    assert len(uploads_by) >= 2  # the uploads were spread over the replicas
    searched_by = {c.upstream for who, calls in clients.seen.items() if who.startswith("s")
                   for c in calls if c.upstream and c.start < killed_at}  # fmt: skip
    assert len(searched_by) >= 2  # and so were the search sessions
    every = [c for calls in clients.seen.values() for c in calls]
    print(f"fleet: {len(every)} calls, {sum(c.upstream is None for c in every)} failed "
          f"(in flight on the killed replica); {len(rows)} jobs for {N_DOCS} documents")  # fmt: skip
