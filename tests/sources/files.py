"""Files written with a chosen age, and what a sync reported, for the source tests."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ragstream.workspace import Workspace


def write(path: Path, text: str, age: float = 5.0) -> Path:
    """Write a file that looks finished: its mtime `age` seconds in the past."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def paths(workspace: Workspace) -> set[str]:
    return {d.path for d in workspace.documents()}


def statuses(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.path: f.status for f in result.report.files}
