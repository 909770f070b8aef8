"""Hostile files (tests/ingest/hostile.py, generated into tmp_path) ingested for real in a
child process under a memory cap: one reason per bad file, every good file ingested, and
the child's own peak RSS under the documented bound."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ragstream.ingest.limits import PEAK_RSS_BOUND_MB
from tests.ingest.hostile import build

ROOT = Path(__file__).resolve().parents[2]
# Address space, not RSS: onnxruntime and glibc reserve far more than they touch, so the
# cap is looser than the bound; the bound itself is asserted on VmHWM.
ADDRESS_SPACE_CAP = 4 * 1024 * 1024 * 1024


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def ingest_in_child(corpus: Path, workspace: Path, *extra: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGSTREAM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["MALLOC_ARENA_MAX"] = "2"  # fewer reserved arenas under the address-space cap
    done = subprocess.run(
        [sys.executable, "-m", "tests.ingest.hostile", str(corpus), str(workspace), *extra],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_cap_memory,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Nothing on stderr either: no traceback, no stray bs4/pdfium lines.
    assert done.stderr.strip() == "", done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_every_hostile_file_gets_one_reason_and_memory_stays_bounded(tmp_path: Path) -> None:
    expected = build(tmp_path / "corpus", scale=0.2)
    result = ingest_in_child(tmp_path / "corpus", tmp_path / "ws", "--vanish", "vanish.txt")
    files = result["files"]
    assert isinstance(files, list)
    by_name = {f["path"]: f for f in files}
    assert sorted(by_name) == sorted(expected) and len(files) == len(expected)
    for name, reason in expected.items():
        got = by_name[name]
        if reason is None:
            assert got["status"] == "ingested", got
        else:
            assert got["status"] == "failed" and reason in got["reason"], got
            assert "\n" not in got["reason"]
    assert float(result["peak_rss_mb"]) < PEAK_RSS_BOUND_MB  # type: ignore[arg-type]
