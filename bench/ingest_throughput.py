"""End-to-end ingest throughput (chunks/s) against sentence-transformers in the same run.

    python bench/ingest_throughput.py [-n 256] [--runs 3] [--baseline-python /tmp/stenv/bin/python]

Writes N chunks' worth of real prose (the texts of bench/embed_throughput.py: windows of
254 word pieces, so each is one 256-token chunk) into Markdown files of four paragraphs,
then times `Workspace.ingest` on the folder into a fresh workspace: scan, hash, load,
chunk, embed (builtin int8 ONNX) and the SQLite writes, everything a user waits for.
The baseline is sentence-transformers on torch embedding the same chunk texts (embedding
only: generous to it), in another venv's Python, its runs interleaved with ours so the
shared machine's load falls on both alike. JSON to bench/results/ingest_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from embed_throughput import Baseline, bench_texts

from ragstream.index.onnx import BUILTIN_DIR, OnnxEmbedder
from ragstream.workspace import Workspace

RESULTS = Path(__file__).parent / "results" / "ingest_throughput.json"
PARAGRAPHS_PER_FILE = 4


def write_corpus(texts: list[str], folder: Path) -> None:
    folder.mkdir(parents=True)
    # Each window becomes one paragraph (its own blank lines flattened), so one chunk.
    paragraphs = [" ".join(text.split()) for text in texts]
    for i in range(0, len(paragraphs), PARAGRAPHS_PER_FILE):
        body = "\n\n".join(paragraphs[i : i + PARAGRAPHS_PER_FILE])
        (folder / f"doc{i // PARAGRAPHS_PER_FILE:04}.md").write_text(body, encoding="utf-8")


def ingest_once(corpus: Path, workdir: Path, run: int) -> tuple[float, int]:
    with Workspace.open(workspace=workdir / f"ws{run}") as workspace:
        workspace.embedder.embed(["warm-up"])  # model load is start-up, not throughput
        start = time.perf_counter()
        report = workspace.ingest([corpus])
        seconds = time.perf_counter() - start
    assert not report.failed, report.failed
    return seconds, report.chunks_embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=256, help="chunks per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-python", default="/tmp/stenv/bin/python")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    texts, source = bench_texts(OnnxEmbedder(BUILTIN_DIR), args.n)
    workdir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    corpus = workdir / "corpus"
    write_corpus(texts, corpus)
    baseline = None
    notes: list[str] = []
    if Path(args.baseline_python).is_file():
        baseline = Baseline(args.baseline_python, texts, workdir)
    else:
        notes.append(
            f"baseline skipped: {args.baseline_python} not found (see embed_throughput.py)"
        )

    load_before = os.getloadavg()
    ours: list[float] = []
    theirs: list[float] = []
    chunks = 0
    for run in range(args.runs):
        seconds, chunks = ingest_once(corpus, workdir, run)
        ours.append(chunks / seconds)
        if baseline:
            theirs.append(len(texts) / baseline.run())
        print(f"run {run}: ingest {ours[-1]:.1f} chunks/s", file=sys.stderr, flush=True)
    result: dict[str, Any] = {
        "what": f"end-to-end ingest of {chunks} chunks of 256 tokens in "
        f"{len(texts) // PARAGRAPHS_PER_FILE} Markdown files, median of {args.runs} runs",
        "text_source": source,
        "machine": {
            "cores": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "ingest_chunks_per_s": round(statistics.median(ours), 2),
        "runs_chunks_per_s": [round(r, 2) for r in ours],
        "notes": notes,
    }
    if baseline:
        result["sentence_transformers_embed_only_per_s"] = round(statistics.median(theirs), 2)
        result["ratio_ingest_vs_sentence_transformers"] = round(
            statistics.median(o / t for o, t in zip(ours, theirs, strict=True)), 2
        )
        baseline.close()
    shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    unfinished = args.out.with_suffix(".json.tmp")
    unfinished.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    unfinished.replace(args.out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
