"""The ingest job queue: a table in the same PostgreSQL as the index (migration 5).

Claim = one transaction: pick the oldest runnable job `FOR UPDATE SKIP LOCKED` (two
workers never wait on, nor take, the same row), take a session advisory lock on its id,
and mark it running with a lease (`lease_until`, the visibility timeout) and a fresh
fencing token. A running job whose lease ran out is runnable again: a worker killed with
SIGKILL loses its job to another after the timeout. The advisory lock makes "never twice
at once" hold even when a live but stalled worker overruns its lease: the lock lives as
long as its connection, so the job is retaken only once that worker is really gone.
Finishing or failing checks the token, so a worker that lost its lease cannot overwrite
the new claim's outcome.

A failure is retried after an exponential backoff until `max_attempts`, then the job is
`dead` (the dead letter: `ragstream jobs` lists it, `jobs retry` requeues it). A failure
that retrying cannot fix (an unreadable document) is dead at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ragstream.errors import ConfigError, StoreError
from ragstream.redact import mask_url, one_line, redact, register_url

try:
    import psycopg
except ModuleNotFoundError:  # pragma: no cover - the postgres extra is missing
    psycopg = None  # type: ignore[assignment]

LOCK_SPACE = 0x52414731  # advisory-lock namespace of job ids ("RAG1")
# the two-int4 advisory lock form: (namespace, job id folded into an int4)
_LOCK_ARGS = "%(space)s, (%(id)s %% 2147483647)::int"
BACKOFF_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
STATES = ("queued", "running", "done", "dead")


@dataclass(frozen=True)
class Job:
    id: int
    doc_key: str
    blob: str
    suffix: str
    sha256: str
    mtime: float
    attempts: int
    max_attempts: int
    lease: str = ""
    collection: str = "default"  # where the worker indexes it (migration 7)
    queued_by: str = ""  # who queued it: the audit log's actor for the upload


@dataclass(frozen=True)
class JobRow:
    id: int
    doc_key: str
    state: str
    attempts: int
    max_attempts: int
    run_after: datetime
    worker: str | None
    last_error: str | None


def backoff(attempts: int, base: float = BACKOFF_SECONDS) -> float:
    """Seconds to wait before attempt `attempts + 1`: base, 2 base, 4 base... capped."""
    return float(min(base * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


_LIVE = """
    (j.state = 'queued' AND j.run_after <= now())
    OR (j.state = 'running' AND j.lease_until < now())"""

_CLAIM_CANDIDATES = f"""
SELECT j.id FROM ingest_jobs j
WHERE ({_LIVE})
  AND NOT EXISTS (SELECT 1 FROM ingest_jobs r WHERE r.doc_key = j.doc_key
                  AND r.state = 'running' AND r.lease_until >= now() AND r.id <> j.id)
ORDER BY j.run_after, j.id
LIMIT %(n)s
FOR UPDATE OF j SKIP LOCKED"""


class JobQueue:
    """The queue on one PostgreSQL connection (a worker holds one for its lifetime)."""

    def __init__(self, url: str, *, base_backoff: float = BACKOFF_SECONDS) -> None:
        if psycopg is None:
            raise ConfigError("the job queue needs psycopg: pip install 'ragstream[postgres]'")
        register_url(url)
        self.where = mask_url(url)
        self.base_backoff = base_backoff
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=15)
        except psycopg.Error as exc:
            raise StoreError(f"{self.where}: cannot connect ({one_line(exc)})") from None
        if not self._one("SELECT to_regclass('ingest_jobs') IS NOT NULL")[0]:
            self._conn.close()
            raise StoreError(f"{self.where}: no job table: run 'ragstream migrate'")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise StoreError(f"{self.where}: {action} failed ({one_line(exc)})") from None

    def _one(self, sql: str, params: Any = None) -> tuple[Any, ...]:
        with self._errors("the job queue"):
            row = self._conn.execute(sql, params).fetchone()
        assert row is not None
        return tuple(row)

    # --- producers ----------------------------------------------------------------------
    def enqueue(
        self,
        doc_key: str,
        blob: str,
        suffix: str,
        sha256: str,
        mtime: float = 0.0,
        max_attempts: int = 5,
        *,
        collection: str = "default",
        queued_by: str = "",
    ) -> int:
        """Queue a document for `collection`; a job still waiting for the same document is
        updated instead (its newer bytes and collection win), so a burst of uploads of one
        file is one job."""
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, not {max_attempts}")
        row = self._one(
            """
            INSERT INTO ingest_jobs
                (doc_key, blob, suffix, sha256, mtime, max_attempts, collection, queued_by)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (doc_key) WHERE state = 'queued' DO UPDATE SET
                blob = EXCLUDED.blob, suffix = EXCLUDED.suffix, sha256 = EXCLUDED.sha256,
                mtime = EXCLUDED.mtime, attempts = 0, run_after = now(), last_error = NULL,
                collection = EXCLUDED.collection, queued_by = EXCLUDED.queued_by
            RETURNING id""",
            (doc_key, blob, suffix, sha256, mtime, max_attempts, collection, queued_by),
        )
        return int(row[0])

    # --- workers ------------------------------------------------------------------------
    def claim(self, worker: str, visibility: float) -> Job | None:
        """The next runnable job, leased to `worker` for `visibility` seconds, or None."""
        with self._errors("claiming a job"), self._conn.transaction():
            self._bury_expired()
            ids = [r[0] for r in self._conn.execute(_CLAIM_CANDIDATES, {"n": 8}).fetchall()]
            for job_id in ids:
                got = self._conn.execute(
                    f"SELECT pg_try_advisory_lock({_LOCK_ARGS})",
                    {"space": LOCK_SPACE, "id": job_id},
                ).fetchone()
                if not (got and got[0]):
                    continue  # its previous worker still lives (past its lease): not twice
                lease = str(uuid.uuid4())
                row = self._conn.execute(
                    """
                    UPDATE ingest_jobs SET state = 'running', attempts = attempts + 1,
                        lease = %s, worker = %s,
                        lease_until = now() + make_interval(secs => %s)
                    WHERE id = %s
                    RETURNING id, doc_key, blob, suffix, sha256, mtime, attempts, max_attempts,
                        collection, queued_by""",
                    (lease, worker, visibility, job_id),
                ).fetchone()
                assert row is not None
                job_id, key, blob, suffix, sha, mtime, attempts, most, into, by = row
                return Job(job_id, key, blob, suffix, sha, mtime, attempts, most, lease, into, by)
        return None

    def _bury_expired(self) -> None:
        """A job whose lease ran out on its last allowed attempt goes to the dead letter
        (its worker died each time: a poison job must not kill workers forever)."""
        self._conn.execute(
            """
            UPDATE ingest_jobs SET state = 'dead', finished_at = now(), lease = NULL,
                last_error = coalesce(last_error || '; ', '') || 'worker ' ||
                    coalesce(worker, '?') || ' lost it (visibility timeout) on attempt ' ||
                    attempts
            WHERE state = 'running' AND lease_until < now() AND attempts >= max_attempts
              AND pg_try_advisory_xact_lock(%s, (id %% 2147483647)::int)""",
            (LOCK_SPACE,),
        )

    def extend(self, job: Job, visibility: float) -> bool:
        """Heartbeat: push the lease out; False when the job is no longer ours."""
        with self._errors("extending a lease"):
            cur = self._conn.execute(
                "UPDATE ingest_jobs SET lease_until = now() + make_interval(secs => %s) "
                "WHERE id = %s AND lease = %s AND state = 'running'",
                (visibility, job.id, job.lease),
            )
        return cur.rowcount == 1

    def finish(self, job: Job, n_chunks: int) -> bool:
        return self._settle(
            job,
            "state = 'done', finished_at = now(), n_chunks = %(n)s, last_error = NULL",
            {"n": n_chunks},
        )

    def fail(self, job: Job, error: str, *, permanent: bool = False) -> str:
        """Record a failure: back to `queued` after a backoff, or `dead` when attempts are
        used up or retrying cannot help. Returns the new state."""
        dead = permanent or job.attempts >= job.max_attempts
        state = "dead" if dead else "queued"
        self._settle(
            job,
            "state = %(state)s, last_error = %(error)s, "
            "run_after = now() + make_interval(secs => %(wait)s), "
            "finished_at = CASE WHEN %(state)s = 'dead' THEN now() END",
            {
                "state": state,
                "error": redact(error)[:2000],
                "wait": 0.0 if dead else backoff(job.attempts, self.base_backoff),
            },
        )
        return state

    def _settle(self, job: Job, assignments: str, params: dict[str, Any]) -> bool:
        with self._errors("recording a job's outcome"):
            cur = self._conn.execute(
                f"UPDATE ingest_jobs SET {assignments}, lease = NULL, lease_until = NULL "
                "WHERE id = %(id)s AND lease = %(lease)s",
                {**params, "id": job.id, "lease": job.lease},
            )
            self._conn.execute(
                f"SELECT pg_advisory_unlock({_LOCK_ARGS})", {"space": LOCK_SPACE, "id": job.id}
            )
        return cur.rowcount == 1

    # --- operators ----------------------------------------------------------------------
    def jobs(self, state: str | None = None, limit: int = 100) -> list[JobRow]:
        if state is not None and state not in STATES:
            raise ConfigError(f"job state {state!r}: use one of {', '.join(STATES)}")
        with self._errors("listing jobs"):
            rows = self._conn.execute(
                "SELECT id, doc_key, state, attempts, max_attempts, run_after, worker, "
                "last_error FROM ingest_jobs WHERE %(s)s::text IS NULL OR state = %(s)s "
                "ORDER BY id DESC LIMIT %(n)s",
                {"s": state, "n": limit},
            ).fetchall()
        return [JobRow(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._errors("counting jobs"):
            rows = self._conn.execute(
                "SELECT state, count(*) FROM ingest_jobs GROUP BY state"
            ).fetchall()
        return {state: 0 for state in STATES} | {state: int(n) for state, n in rows}

    def depth(self) -> int:
        """Jobs queued (backing off included) or running: what worker autoscaling follows."""
        sql = "SELECT count(*) FROM ingest_jobs WHERE state IN ('queued', 'running')"
        return int(self._one(sql)[0])

    def retry_dead(self, ids: list[int] | None = None) -> int:
        """Requeue dead jobs (all, or these ids) with fresh attempts; returns how many.
        A dead job whose document already waits in another queued job stays dead."""
        with self._errors("requeueing dead jobs"):
            cur = self._conn.execute(
                """
                UPDATE ingest_jobs d SET state = 'queued', attempts = 0, run_after = now(),
                    finished_at = NULL
                WHERE d.state = 'dead' AND (%(ids)s::bigint[] IS NULL OR d.id = ANY(%(ids)s))
                  AND d.id = (SELECT max(x.id) FROM ingest_jobs x  -- one per document
                              WHERE x.doc_key = d.doc_key AND x.state = 'dead')
                  AND NOT EXISTS (SELECT 1 FROM ingest_jobs q
                                  WHERE q.doc_key = d.doc_key AND q.state = 'queued')""",
                {"ids": ids},
            )
        return cur.rowcount
