"""A real workspace (builtin ONNX embedder, SQLite store) and helpers for source tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragstream.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(workspace=tmp_path / "ws")
    yield ws
    ws.close()
