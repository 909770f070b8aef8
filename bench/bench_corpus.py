"""What the store benches share: a corpus of real sentence windows, synthetic documents
made of them, stores to fill (SQLite, or PostgreSQL on a throwaway server this process
starts and stops), and percentiles. Imported by search_latency.py, store_ingest.py and
collection_filter.py; it imports none of them."""

from __future__ import annotations

import atexit
import json
import os
import re
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from ragstream.index.store import Store
from ragstream.models import Chunk, DocumentRecord

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


_cleanup = ExitStack()
_server: Any = None
atexit.register(_cleanup.close)
# a plain `kill` must stop the throwaway server too: exit through atexit
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _throwaway_database() -> str:
    """A new database on a server this process starts (once) and stops at exit."""
    global _server
    if _server is None:
        sys.path.insert(0, str(HERE.parent))
        from tests.support.postgres import running_postgres

        _server = _cleanup.enter_context(running_postgres())
    database = f"bench_{uuid.uuid4().hex[:8]}"
    _server.admin(f"CREATE DATABASE {database}")
    return _server.url(database)


def postgres_store(dim: int) -> Store:
    """An empty PostgresStore with the HNSW index ready for `dim`-d vectors."""
    from ragstream.index.postgres import PostgresStore

    store = PostgresStore(os.environ.get("RAGSTREAM_DATABASE_URL") or _throwaway_database())
    if store.count_chunks():
        raise SystemExit(f"{store.where}: the bench needs an empty database")
    store.set_meta({"embedder": "bench", "dim": str(dim)})
    return store
