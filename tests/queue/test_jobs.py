"""The job queue on the real PostgreSQL the suite starts: claims are exclusive under
concurrency (SKIP LOCKED), leases expire (visibility timeout), failures back off then
go to the dead letter, a lost lease cannot overwrite the new claim's outcome."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from ragstream.errors import StoreError
from ragstream.index.postgres import PostgresStore
from ragstream.queue.jobs import JobQueue, backoff

pytestmark = pytest.mark.postgres


@pytest.fixture
def queue(postgres_url: str) -> Iterator[JobQueue]:
    PostgresStore(postgres_url).close()  # migrations, the job table among them
    with JobQueue(postgres_url, base_backoff=0.2) as q:
        yield q


def add(q: JobQueue, key: str = "a.txt", max_attempts: int = 3) -> int:
    return q.enqueue(key, f"sha256/{key}", ".txt", "0" * 64, max_attempts=max_attempts)


def test_a_database_without_the_table_is_told_to_migrate(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="no job table: run 'ragstream migrate'"):
        JobQueue(postgres_url)


def test_concurrent_claims_never_hand_out_a_job_twice(queue: JobQueue, postgres_url: str) -> None:
    ids = {add(queue, f"doc{i}.txt") for i in range(40)}
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        with JobQueue(postgres_url) as mine:
            while (job := mine.claim(name, 60)) is not None:
                with lock:
                    claimed.append(job.id)
                mine.finish(job, 1)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # each exactly once
    assert queue.counts()["done"] == 40


def test_a_waiting_job_for_the_same_document_is_replaced_not_doubled(queue: JobQueue) -> None:
    first = queue.enqueue("a.txt", "sha256/old", ".txt", "1" * 64)
    second = queue.enqueue("a.txt", "sha256/new", ".txt", "2" * 64)
    assert first == second
    job = queue.claim("w", 60)
    assert job is not None and job.blob == "sha256/new"
    # while it runs, a newer upload queues behind it but is not claimable yet
    third = queue.enqueue("a.txt", "sha256/newer", ".txt", "3" * 64)
    assert third != first
    assert queue.claim("w2", 60) is None
    queue.finish(job, 1)
    nxt = queue.claim("w2", 60)
    assert nxt is not None and nxt.id == third


def test_a_job_whose_worker_vanished_is_claimed_again_after_the_lease(
    queue: JobQueue, postgres_url: str
) -> None:
    add(queue)
    gone = JobQueue(postgres_url)
    job = gone.claim("dead-worker", visibility=1)
    assert job is not None
    assert queue.claim("w2", 60) is None  # leased
    gone.close()  # its connection ends, as when the process is killed
    time.sleep(1.2)
    again = queue.claim("w2", 60)
    assert again is not None and again.id == job.id and again.attempts == 2
    # the old claim's outcome is fenced off: only the new lease can settle it
    assert not queue.finish(job, 5)
    assert queue.finish(again, 5)
    assert queue.jobs("done")[0].attempts == 2


def test_a_live_worker_past_its_lease_keeps_the_job_to_itself(
    queue: JobQueue, postgres_url: str
) -> None:
    add(queue, "slow.txt")
    with JobQueue(postgres_url) as slow:
        job = slow.claim("slow", visibility=0.5)
        assert job is not None
        time.sleep(0.8)  # lease over, but the worker (and its connection) still lives
        assert queue.claim("other", 60) is None
        assert slow.finish(job, 3)
    assert queue.counts()["done"] == 1


def test_failures_back_off_then_go_to_the_dead_letter_and_can_be_retried(
    queue: JobQueue,
) -> None:
    job_id = add(queue, "poison.txt", max_attempts=3)
    seen = []
    while True:
        job = queue.claim("w", 60)
        if job is None:
            state = {r.id: r for r in queue.jobs()}[job_id]
            if state.state == "dead":
                break
            time.sleep(0.05)
            continue
        seen.append((time.monotonic(), job.attempts))
        queue.fail(job, "boom at 'postgresql://u:pw@h/db'")
    assert [a for _, a in seen] == [1, 2, 3]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert gaps[0] >= backoff(1, 0.2) - 0.05 and gaps[1] >= backoff(2, 0.2) - 0.05
    assert gaps[1] > gaps[0]
    dead = queue.jobs("dead")[0]
    assert dead.last_error and "boom" in dead.last_error and "pw@" not in dead.last_error
    assert queue.retry_dead() == 1
    again = queue.claim("w", 60)
    assert again is not None and again.id == job_id and again.attempts == 1


def test_permanent_failures_are_dead_at_once(queue: JobQueue) -> None:
    add(queue, "bad.pdf")
    job = queue.claim("w", 60)
    assert job is not None
    assert queue.fail(job, "not a PDF", permanent=True) == "dead"


def test_a_job_that_kills_its_worker_every_time_ends_dead(
    queue: JobQueue, postgres_url: str
) -> None:
    add(queue, "crash.txt", max_attempts=2)
    for _ in range(2):
        victim = JobQueue(postgres_url)
        assert victim.claim("victim", visibility=0.3) is not None
        victim.close()
        time.sleep(0.4)
    assert queue.claim("w", 60) is None
    dead = queue.jobs("dead")[0]
    assert "lost it (visibility timeout) on attempt 2" in (dead.last_error or "")


def test_heartbeat_extends_only_its_own_lease(queue: JobQueue, postgres_url: str) -> None:
    add(queue)
    job = queue.claim("w", visibility=0.5)
    assert job is not None
    for _ in range(3):
        time.sleep(0.3)
        assert queue.extend(job, 0.5)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute("SELECT lease_until > now() FROM ingest_jobs").fetchone()
    assert row == (True,)
    assert queue.depth() == 1
