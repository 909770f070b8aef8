"""Loader and chunker speed on the sample folder, with the real MiniLM tokenizer.

    python bench/chunking.py [--copies 40] [--rounds 7]

The chunker runs on every ingest, so its cost beyond tokenising must stay small. The
baseline, measured in the same process and rounds, is tokenising every section once with
the same tokenizer (work the chunker cannot avoid); the ratio chunk/tokenise says what
the boundary search and slicing add. The sample documents' sections are repeated
`--copies` times (each copy under its own path) to make a corpus of about 0.5 MB of
text. Loading is timed per sample file. Times are CPU seconds of this process, medians
over the rounds. Writes bench/results/chunking.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tokenizers import Tokenizer as HFTokenizer

from ragstream.ingest.chunker import chunk_sections
from ragstream.ingest.loaders import load_document

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
TOKENIZER_JSON = ROOT / "src/ragstream/index/models/all-MiniLM-L6-v2-int8/tokenizer.json"
RESULT = ROOT / "bench" / "results" / "chunking.json"
T = TypeVar("T")


class MiniLMSpans:
    """The chunker's Tokenizer protocol over the packaged tokenizer.json."""

    def __init__(self, path: Path) -> None:
        self.tokenizer = HFTokenizer.from_file(str(path))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).offsets)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)


def timed(run: Callable[[], T]) -> tuple[float, T]:
    """CPU seconds of this process: on a shared machine wall time swings by a third from
    run to run, CPU time much less (the tokenizer is single-threaded per call)."""
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    tokenizer = MiniLMSpans(TOKENIZER_JSON)
    files = sorted(p for p in SAMPLES.iterdir() if p.is_file())

    load_ms: dict[str, float] = {}
    for path in files:
        times = [timed(functools.partial(load_document, path))[0] for _ in range(args.rounds)]
        load_ms[path.name] = round(statistics.median(times) * 1000, 3)

    documents = [
        (f"copy{i}/{path.name}", load_document(path).sections)
        for i in range(args.copies)
        for path in files
    ]
    n_chars = sum(len(s.text) for _, sections in documents for s in sections)

    def tokenise_all() -> int:
        return sum(
            len(tokenizer.token_spans(s.text)) for _, sections in documents for s in sections
        )

    def chunk_all(max_tokens: int, overlap: int) -> int:
        return sum(
            len(chunk_sections(path, sections, tokenizer, max_tokens, overlap))
            for path, sections in documents
        )

    rounds: dict[str, list[float]] = {"tokenise": [], "chunk_254": [], "chunk_64": []}
    counts: dict[str, int] = {}
    for _ in range(args.rounds):  # interleaved, so machine noise hits all alike
        for name, run in (
            ("tokenise", tokenise_all),
            ("chunk_254", lambda: chunk_all(254, 32)),
            ("chunk_64", lambda: chunk_all(64, 16)),
        ):
            seconds, count = timed(run)
            rounds[name].append(seconds)
            counts[name] = count
    median = {name: statistics.median(times) for name, times in rounds.items()}
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "corpus": {
            "documents": len(documents),
            "characters": n_chars,
            "tokens": counts["tokenise"],
        },
        "rounds": args.rounds,
        "clock": "process CPU time",
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "load_ms_median": load_ms,
        "tokenise_s_median": round(median["tokenise"], 4),
        "chunking": {
            name: {
                "chunks": counts[name],
                "seconds_median": round(median[name], 4),
                "ratio_to_tokenise": round(median[name] / median["tokenise"], 3),
                "overhead_ms_per_chunk": round(
                    (median[name] - median["tokenise"]) / counts[name] * 1000, 4
                ),
                "chunks_per_s": round(counts[name] / median[name]),
                "ms_per_chunk": round(median[name] / counts[name] * 1000, 4),
            }
            for name in ("chunk_254", "chunk_64")
        },
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
