"""Sources kept in sync: save-to-searchable latency of a watched folder, and the cost of
re-syncing an unchanged 1,000-file folder source.

    python bench/sync.py [--latency-docs 20] [--files 1000] [--runs 5]

1. Latency: `Watcher` (inotify, default debounce and settle) runs on a folder; one-page
   Markdown files, each with a unique word, are saved one at a time; the clock runs from
   the file's close to the word being found by a BM25 search. p50/p95 over the files.
2. Re-sync: a folder source of FILES 1 KB text files is synced once, then again unchanged.
   Reported (median of RUNS, interleaved with the baseline): seconds, document bytes read (every `Path.read_bytes`, the connector's only
   content read) and the process's read syscall bytes (/proc/self/io rchar: includes
   SQLite reading the manifest). Baseline in the same run: `ragstream ingest` of the
   same unchanged folder, which hashes every file.
JSON to bench/results/sync.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ragstream.sources.watch import Watcher
from ragstream.workspace import Workspace

RESULTS = Path(__file__).parent / "results" / "sync.json"
PAGE = (
    "# Field note {i}\n\nThe observer logged {word} near the estuary at dawn. "
    + "Tides, wind and light were recorded in the usual way. " * 30
)

# About 1 KB, one chunk: a small document rather than a one-liner, so reading costs.
RECORD = "Record {i}: sample {n}. " + "Measured values were logged and checked twice. " * 20


def rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


class ReadCounter:
    """Counts bytes returned by Path.read_bytes while active (all threads)."""

    def __init__(self) -> None:
        self.bytes = 0
        self._real = Path.read_bytes
        self._lock = threading.Lock()

    def __enter__(self) -> ReadCounter:
        real, counter = self._real, self

        def counting(path: Path) -> bytes:
            data = real(path)
            with counter._lock:
                counter.bytes += len(data)
            return data

        Path.read_bytes = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Path.read_bytes = self._real  # type: ignore[method-assign]


def latency(root: Path, n: int) -> dict[str, Any]:
    docs = root / "watched"
    docs.mkdir()
    with Workspace.open(workspace=root / "ws-latency") as workspace:
        workspace.embedder.embed(["warm-up"])
        sources = workspace.sources
        sources.add(str(docs))
        watcher = Watcher(sources, rescan=600)
        thread = watcher.start()
        seconds: list[float] = []
        try:
            time.sleep(1.0)
            for i in range(n):
                word = f"zq{i:03d}marker"
                with (docs / f"note{i:03d}.md").open("w", encoding="utf-8") as out:
                    out.write(PAGE.format(i=i, word=word))
                saved = time.perf_counter()
                while not workspace.search(word, k=1, mode="bm25"):
                    if time.perf_counter() - saved > 30:
                        raise SystemExit(f"note{i:03d}.md not searchable within 30 s")
                    time.sleep(0.02)
                seconds.append(time.perf_counter() - saved)
        finally:
            watcher.stop()
            thread.join(timeout=10)
    seconds.sort()
    return {
        "documents": n,
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(seconds[min(n - 1, int(0.95 * n))], 3),
        "max_s": round(seconds[-1], 3),
        "settle_s": sources.syncer.settle,
    }


def resync(root: Path, files: int, runs: int) -> dict[str, Any]:
    docs = root / "corpus"
    for i in range(files):
        folder = docs / f"d{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:04d}.txt").write_text(RECORD.format(i=i, n=i * 7919 % 10007))
    time.sleep(1.2)  # older than the settle time: the first sync takes every file
    with Workspace.open(workspace=root / "ws-resync") as workspace:
        sources = workspace.sources
        sources.add(str(docs))
        [first] = sources.sync()
        assert first.ok and first.report.count("ingested") == files, first.summary()
        out: dict[str, Any] = {"files": files, "runs": runs}
        runners = {
            "source_sync": lambda: sources.sync()[0].report,
            "baseline_ingest": lambda: workspace.ingest([docs]),
        }
        samples: dict[str, list[tuple[float, int, int]]] = {k: [] for k in runners}
        for _ in range(runs):  # interleaved, so the shared machine's load falls on both
            for label, run in runners.items():
                before = rchar()
                with ReadCounter() as counter:
                    started = time.perf_counter()
                    report = run()
                    took = time.perf_counter() - started
                assert report.count("unchanged") == files, label
                samples[label].append((took, counter.bytes, rchar() - before))
        for label, rows in samples.items():
            out[label] = {
                "median_seconds": round(statistics.median(r[0] for r in rows), 4),
                "document_bytes_read": max(r[1] for r in rows),
                "rchar_bytes": int(statistics.median(r[2] for r in rows)),
            }
        base, ours = out["baseline_ingest"], out["source_sync"]
        out["speedup_vs_ingest"] = round(base["median_seconds"] / ours["median_seconds"], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-docs", type=int, default=20)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="re-syncs timed (median)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragstream-bench-sync-") as tmp:
        result = {
            "latency_save_to_searchable": latency(Path(tmp), args.latency_docs),
            "resync_unchanged": resync(Path(tmp), args.files, args.runs),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
