"""Helpers shared by the worker tests and bench/fleet.py: documents, worker processes,
and the checks that every document is indexed exactly once."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

WORDS = [
    "badger",
    "sett",
    "river",
    "granite",
    "ledger",
    "vector",
    "index",
    "worker",
    "queue",
    "lease",
    "shard",
    "replica",
    "harbour",
    "lantern",
    "meadow",
    "copper",
    "signal",
    "orchard",
    "thistle",
    "quarry",
    "beacon",
    "compass",
    "ember",
    "falcon",
    "glacier",
    "hollow",
    "island",
    "juniper",
    "kestrel",
    "lichen",
    "marble",
    "nettle",
    "osprey",
    "pebble",
]


def document(seed: int, words: int) -> bytes:
    rng = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        n = rng.randint(8, 18)
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
    return f"# Document {seed}\n\n".encode() + " ".join(sentences).encode()


def start_worker(
    name: str, env: dict[str, str], *extra: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "ragstream.cli", "worker", "--name", name, "--poll", "0.2"]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen([*args, *extra], env={**os.environ, **env}, stdout=out, stderr=out)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def indexed_exactly_once(url: str) -> dict[str, int]:
    """Per document: its chunk count, after checking the chunks are one copy (ordinals
    0..n-1 each once, matching the manifest)."""
    with psycopg.connect(url, autocommit=True) as conn:
        manifest = dict(conn.execute("SELECT path, n_chunks FROM documents").fetchall())
        rows = conn.execute(
            "SELECT path, count(*), count(DISTINCT ordinal), min(ordinal), max(ordinal) "
            "FROM chunks GROUP BY path"
        ).fetchall()
    chunks = {path: n for path, n, *_ in rows}
    assert chunks == manifest, (chunks, manifest)
    for path, n, distinct, low, high in rows:
        assert (n, low, high) == (distinct, 0, n - 1), path
    return chunks


def jobs(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT id, doc_key, state, attempts, worker, last_error FROM ingest_jobs ORDER BY id"
        ).fetchall()
