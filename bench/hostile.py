"""Peak RSS and seconds per hostile file, before and after the per-file limits, plus
normal-file ingest throughput of both in the same run.

    python bench/hostile.py --before-src /tmp/base/src [--cap-gb 4] [--timeout 180]
        [--rounds 3] [--normal-files 40]
    python bench/hostile.py --heavy     (adds "heavy_after" to the existing JSON)

The corpus is tests/ingest/hostile.py's (the sizes the issue reported). Each hostile file
is ingested alone into a fresh workspace, in a child process whose own peak RSS (VmHWM)
is read at the end, under an address-space cap (RLIMIT_AS) and a timeout so the old code
cannot take the machine down: "memory cap" or "timeout" then stands for its figure. Make
the old checkout with e.g. `git worktree add --detach /tmp/base <commit>`.
--heavy: honest files just under the caps (the worst cases for memory within them),
with the current code only: a DOCX of 46 MB of varied XML, an HTML page of ~999,000 tags,
a Markdown file of 24 million short lines.
Throughput: the same folder of normal Markdown files ingested by both, interleaved
rounds, median chunks/s and the median per-round ratio. JSON to bench/results/hostile.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ingest.hostile import MiB, build, docx_large, prose  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "hostile.json"
GROUPS = {"loop-a.txt": ["loop-a.txt", "loop-b.txt"]}  # files that only make sense together
SKIP = {"loop-b.txt"}


def run_child(
    src: Path, corpus: Path, workdir: Path, cap: int, timeout: float, *extra: str
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGSTREAM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(ROOT)])
    env["MALLOC_ARENA_MAX"] = "2"
    workspace = Path(tempfile.mkdtemp(dir=workdir, prefix="ws-"))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.ingest.hostile", str(corpus), str(workspace), *extra],
            stdout=out, stderr=err, text=True, env=env, preexec_fn=limit,
        )  # fmt: skip
        peak = 0.0  # sampled too, so a timed-out child still has a (lower-bound) figure
        while child.poll() is None and time.perf_counter() - started < timeout:
            peak = max(peak, _vm_hwm_mb(child.pid))
            time.sleep(0.2)
        timed_out = child.poll() is None
        if timed_out:
            peak = max(peak, _vm_hwm_mb(child.pid))
            child.kill()
        child.wait()
        shutil.rmtree(workspace, ignore_errors=True)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if timed_out:
        return {"outcome": f"timeout after {timeout:g} s", "seconds": round(wall, 1),
                "peak_rss_mb_at_least": round(peak)}  # fmt: skip
    if child.returncode != 0:
        last = (stderr.strip().splitlines() or ["?"])[-1][:160]
        capped = any(m in stderr for m in ("MemoryError", "bad_alloc", "memory allocation"))
        outcome = f"memory cap ({cap >> 30} GB address space)" if capped else "crashed"
        return {"outcome": outcome, "error": last, "seconds": round(wall, 1),
                "peak_rss_mb_at_least": round(peak)}  # fmt: skip
    result = json.loads(stdout.strip().splitlines()[-1])
    files = result["files"]
    return {
        "outcome": "; ".join(f"{f['status']}: {f['reason']}".rstrip(": ") for f in files),
        "seconds": round(result["seconds"], 2),
        "peak_rss_mb": round(result["peak_rss_mb"]),
        "stderr_lines": len(stderr.strip().splitlines()),
        "chunks": result["chunks"],
    }


def _vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def heavy_files(folder: Path) -> None:
    for kind in ("docx", "html", "md"):
        (folder / kind).mkdir(parents=True)
    docx_large(folder / "docx" / "large.docx", 46 * MiB)
    pool = [f"<div><p>{prose(12, seed=i)}</p><span>x</span></div>" for i in range(300)]
    with (folder / "html" / "edge.html").open("w", encoding="utf-8") as page:
        page.write("<html><body>")
        page.writelines(pool[i % 300] for i in range(999_000 // 6))  # 6 tags a block
        page.write("</body></html>")
    (folder / "md" / "lines.md").write_bytes(b"a\n" * (24 * MiB))


def run_heavy(args: argparse.Namespace, cap: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hostile-heavy-"))
    try:
        heavy_files(workdir)
        runs = {}
        for kind in ("docx", "html", "md"):
            runs[kind] = run_child(ROOT / "src", workdir / kind, workdir, cap, args.timeout)
            print(kind, runs[kind], file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = json.loads(args.out.read_text()) if args.out.is_file() else {}
    result["heavy_after"] = runs
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before-src", type=Path, help="old checkout's src/")
    parser.add_argument("--heavy", action="store_true", help="files just under the caps")
    parser.add_argument("--cap-gb", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--normal-files", type=int, default=40)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    cap = int(args.cap_gb * (1 << 30))
    if args.heavy:
        return run_heavy(args, cap)
    if args.before_src is None:
        parser.error("--before-src is required (or --heavy)")
    systems = {"before": args.before_src.resolve(), "after": ROOT / "src"}
    workdir = Path(tempfile.mkdtemp(prefix="hostile-bench-"))
    try:
        corpus = workdir / "all"
        expected = build(corpus)
        per_file: dict[str, dict[str, Any]] = {}
        for name, reason in expected.items():
            if reason is None or name in SKIP:
                continue
            alone = workdir / "one" / name
            alone.mkdir(parents=True)
            for member in GROUPS.get(name, [name]):
                os.rename(corpus / member, alone / member)
            extra = ("--vanish", name) if name == "vanish.txt" else ()
            per_file[name] = {}
            for system, src in systems.items():
                if name == "vanish.txt" and not (alone / name).exists():
                    (alone / name).write_text(prose(50), encoding="utf-8")
                per_file[name][system] = run_child(src, alone, workdir, cap, args.timeout, *extra)
                print(name, system, per_file[name][system], file=sys.stderr, flush=True)

        normal = workdir / "normal"
        normal.mkdir()
        for i in range(args.normal_files):
            body = "\n\n".join(prose(180, seed=1000 * i + j) for j in range(4))
            (normal / f"doc{i:03}.md").write_text(f"# Doc {i}\n\n{body}\n", encoding="utf-8")
        rates: dict[str, list[float]] = {s: [] for s in systems}
        for _ in range(args.rounds):  # interleaved: the machine's load falls on both alike
            for system, src in systems.items():
                run = run_child(src, normal, workdir, cap, args.timeout)
                rates[system].append(run["chunks"] / run["seconds"])
                print("normal", system, run, file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "what": "each hostile file ingested alone (fresh workspace, child process): "
        "outcome, seconds of the ingest, the child's peak RSS (VmHWM, includes the "
        f"~0.3 GB embedder); cap {args.cap_gb:g} GB address space, timeout {args.timeout:g} s",
        "before_src": str(args.before_src),
        "loadavg": os.getloadavg(),
        "hostile": per_file,
        "normal_files": {
            "files": args.normal_files,
            "chunks_per_s_median": {s: round(statistics.median(r), 2) for s, r in rates.items()},
            "ratio_after_vs_before_per_round_median": round(
                statistics.median(
                    a / b for a, b in zip(rates["after"], rates["before"], strict=True)
                ),
                3,
            ),
            "rounds": args.rounds,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
