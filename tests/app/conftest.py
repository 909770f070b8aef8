"""Fixtures of the page tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace and an environment with no key, password or settings file."""
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAGSTREAM_PASSWORD", "RAGSTREAM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    workspace = tmp_path / "ws"
    monkeypatch.setenv("RAGSTREAM_WORKSPACE", str(workspace))
    return workspace
