"""What the open-time index check costs: `SqliteStore(path)` with and without it.

    python bench/open_check.py [--sizes 2000,20000] [--repeat 15]
    -> bench/results/open_check.json

Every `ragstream search`/`docs` and the page's first run open the index, so the check
(truncation, schema version, PRAGMA quick_check stopped after QUICK_CHECK_SECONDS) is
paid on each. Indexes of N chunks (384-d float32 vectors, ~1 KB of text each) are built
once; opens alternate with/without the check (load swings on this shared machine hit
both alike) and the median of each and their difference are reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ragstream.index import sqlite_health
from ragstream.index.sqlite import SqliteStore
from ragstream.models import Chunk, DocumentRecord

HERE = Path(__file__).parent
WORDS = [
    "turbine",
    "gearbox",
    "rotor",
    "bearing",
    "blade",
    "tower",
    "nacelle",
    "yaw",
    "pitch",
    "brake",
    "sensor",
    "cable",
]


def build(path: Path, n_chunks: int, dim: int = 384) -> None:
    store = SqliteStore(path)
    rng = np.random.default_rng(0)
    store.set_meta({"embedder": "bench", "dim": str(dim)})
    for doc in range(0, n_chunks, 100):
        key = f"docs/{doc // 100}.md"
        chunks = [
            Chunk(f"{key}#{i}", key, " ".join(rng.choice(WORDS, 160)), i, None, None, i,
                  0, 1000, 160)
            for i in range(min(100, n_chunks - doc))
        ]  # fmt: skip
        vectors = rng.standard_normal((len(chunks), dim)).astype(np.float32)
        record = DocumentRecord(key, f"sha{doc}", 1, 1.0, len(chunks), None, 1.0)
        store.replace_document(record, chunks, vectors)
    store.close()


def time_open(path: Path) -> float:
    started = time.perf_counter()
    SqliteStore(path).close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    real_check = sqlite_health.quick_check
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"index-{n}.sqlite"
            build(path, n)
            checked, unchecked = [], []
            for _ in range(args.repeat):
                sqlite_health.quick_check = real_check  # type: ignore[assignment]
                checked.append(time_open(path))
                sqlite_health.quick_check = lambda conn, seconds=0.0: None  # type: ignore[assignment]
                unchecked.append(time_open(path))
            sqlite_health.quick_check = real_check  # type: ignore[assignment]
            with_check, without = statistics.median(checked), statistics.median(unchecked)
            results.append({
                "chunks": n,
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "open_ms_with_check": round(with_check * 1000, 2),
                "open_ms_without_check": round(without * 1000, 2),
                "check_ms": round((with_check - without) * 1000, 2),
                "ratio": round(with_check / without, 2),
            })  # fmt: skip
            print(results[-1], flush=True)
    out = {
        "what": "SqliteStore open, median of --repeat alternating runs",
        "budget_s": sqlite_health.QUICK_CHECK_SECONDS,
        "machine": platform.platform(),
        "results": results,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "open_check.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
