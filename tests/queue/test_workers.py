"""`ragstream worker` processes on the real PostgreSQL: two workers share a queue (bytes
from S3 on moto), a worker killed with SIGKILL mid-job loses it to the other after the
visibility timeout, a poison job ends in the dead letter; every document is indexed
exactly once."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragstream.index.postgres import PostgresStore
from ragstream.queue.blobs import BlobStore, open_blobs
from ragstream.queue.jobs import JobQueue
from ragstream.queue.submit import submit
from tests.queue.fleet import document, indexed_exactly_once, jobs, start_worker, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def queue(postgres_url: str) -> Iterator[JobQueue]:
    PostgresStore(postgres_url).close()
    with JobQueue(postgres_url) as q:
        yield q


def env_for(url: str, blobs: str, tmp_path: Path, **more: str) -> dict[str, str]:
    return {"RAGSTREAM_DATABASE_URL": url, "RAGSTREAM_BLOBS": blobs,
            "RAGSTREAM_WORKSPACE": str(tmp_path / "ws"), **more}  # fmt: skip


def logged(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text(errors="replace")


@pytest.mark.aws
def test_two_worker_processes_share_the_queue_reading_bytes_from_s3(
    queue: JobQueue, postgres_url: str, aws: Any, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(
        Bucket="rs-blobs", CreateBucketConfiguration={"LocationConstraint": aws.region}
    )
    env = env_for(postgres_url, "s3://rs-blobs/queue", tmp_path, **aws.env)
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [start_worker(f"w{i + 1}", env, log=log) for i, log in enumerate(logs)]
    try:
        for log in logs:
            wait_for(lambda log=log: logged(log, "waiting for jobs"), 120, f"{log.name} ready")
        blobs: BlobStore = open_blobs("s3://rs-blobs/queue", client=aws.client("s3"))
        for i in range(16):
            submit(queue, blobs, f"docs/d{i:02}.md", document(i, 900))
        wait_for(lambda: queue.counts()["done"] == 16, 300, "16 jobs done")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)  # graceful: finishes its job, then exits 0
        codes = [w.wait(60) for w in workers]
    assert codes == [0, 0]
    rows = jobs(postgres_url)
    assert {r[2] for r in rows} == {"done"} and {r[3] for r in rows} == {1}  # once each
    assert set(Counter(r[4] for r in rows)) == {"w1", "w2"}  # both took work
    chunks = indexed_exactly_once(postgres_url)
    assert len(chunks) == 16 and all(n > 1 for n in chunks.values())


def test_a_worker_killed_mid_job_loses_it_to_another_after_the_visibility_timeout(
    queue: JobQueue, postgres_url: str, tmp_path: Path
) -> None:
    blob_dir = str(tmp_path / "blobs")
    env = env_for(postgres_url, blob_dir, tmp_path)
    blobs = open_blobs(blob_dir)
    big = submit(queue, blobs, "big.md", document(99, 25000))
    victim = start_worker("victim", env, "--visibility", "4", log=tmp_path / "victim.log")
    try:
        wait_for(lambda: jobs(postgres_url)[0][2:5] == (big and "running", 1, "victim"), 120,
                 "the victim to claim the job")  # fmt: skip
        survivor = start_worker("survivor", env, "--visibility", "4", "--until-empty",
                                log=tmp_path / "survivor.log")  # fmt: skip
        wait_for(lambda: logged(tmp_path / "survivor.log", "waiting for jobs"), 120, "survivor")
        assert jobs(postgres_url)[0][2] == "running"  # still embedding: killed mid-job
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        assert survivor.wait(300) == 0
    finally:
        for p in (victim,):
            if p.poll() is None:
                p.kill()
    ((job_id, key, state, attempts, worker, _),) = jobs(postgres_url)
    assert (job_id, key, state, attempts, worker) == (big, "big.md", "done", 2, "survivor")
    chunks = indexed_exactly_once(postgres_url)
    assert chunks["big.md"] > 20


def test_poison_jobs_go_to_the_dead_letter(
    queue: JobQueue, postgres_url: str, tmp_path: Path
) -> None:
    blob_dir = str(tmp_path / "blobs")
    blobs = open_blobs(blob_dir)
    good = submit(queue, blobs, "good.md", document(1, 400))
    broken = submit(queue, blobs, "broken.pdf", b"%PDF-1.7 not really a pdf")
    lost = queue.enqueue("lost.md", "sha256/" + "0" * 64 + ".md", ".md", "0" * 64, max_attempts=2)
    queue._conn.execute(  # a shorter backoff than the default, to keep the test quick
        "UPDATE ingest_jobs SET run_after = now()"
    )
    env = env_for(postgres_url, blob_dir, tmp_path)
    worker = start_worker("w", env, "--until-empty", log=tmp_path / "w.log")
    assert worker.wait(300) == 0, (tmp_path / "w.log").read_text()
    state = {r[0]: r for r in jobs(postgres_url)}
    assert state[good][2:4] == ("done", 1)
    assert state[broken][2:4] == ("dead", 1)  # unreadable: retrying cannot help
    assert state[lost][2:4] == ("dead", 2)  # missing bytes: retried with backoff, then dead
    assert "is missing" in state[lost][5]
    assert set(indexed_exactly_once(postgres_url)) == {"good.md"}
    # the dead letter can be requeued from the CLI
    from click.testing import CliRunner

    from ragstream.cli import cli

    listing = CliRunner().invoke(cli, ["jobs", "list", "--state", "dead"], env=env)
    assert listing.exit_code == 0, listing.output
    assert "dead: 2" in listing.output and "broken.pdf" in listing.output
    retried = CliRunner().invoke(cli, ["jobs", "retry", str(lost)], env=env)
    assert "requeued 1 dead job(s)" in retried.output
    assert {r[0]: r[2] for r in jobs(postgres_url)}[lost] == "queued"
