"""The page's sources panel, headless (AppTest on the real script and a real workspace):
a folder source is listed with its last result, and "Sync now" picks up a new file."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ragstream.app.cli import SCRIPT
from ragstream.workspace import Workspace
from tests.sources.files import write


def test_sources_listed_and_synced_from_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAGSTREAM_PASSWORD", "RAGSTREAM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAGSTREAM_WORKSPACE", str(tmp_path / "ws"))
    write(tmp_path / "docs/a.md", "# Storks\n\nStorks return to the same nest each spring.\n")
    with Workspace.open(workspace=tmp_path / "ws") as ws:
        ws.sources.add(str(tmp_path / "docs"))
        ws.sources.sync()

    at = AppTest.from_file(str(SCRIPT), default_timeout=120).run()
    captions = [c.value for c in at.sidebar.caption]
    assert any("docs" in m.value and "1 documents" in m.value for m in at.sidebar.markdown)
    assert any(c.startswith("last sync") and "1 ingested" in c for c in captions)

    write(tmp_path / "docs/b.md", "# Cranes\n\nCranes dance in pairs.\n")
    at.sidebar.button(key="sync-docs").click().run()
    assert any("docs: 1 ingested, 1 unchanged" in s.value for s in at.sidebar.success)
    with Workspace.open(workspace=tmp_path / "ws") as ws:
        assert {d.path for d in ws.documents()} == {"docs/a.md", "docs/b.md"}
