"""The page's error display carries no secret, whatever URL shape hides it (issue 14.4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ragstream.app.cli import SCRIPT

PASSWORD = "page#db/Pa55"


def test_a_store_error_on_the_page_shows_no_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAGSTREAM_PASSWORD", "RAGSTREAM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAGSTREAM_WORKSPACE", str(tmp_path / "ws"))
    # unencoded '#' and '/', and a port that is not a number: urlsplit fails three ways
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", f"postgresql://app:{PASSWORD}@127.0.0.1:x/rag")
    at = AppTest.from_file(str(SCRIPT), default_timeout=60).run()
    errors = [str(e.value) for e in at.error]
    assert errors, "the failing store is reported on the page"
    assert any("***" in e for e in errors)
    for text in errors:
        assert "Pa55" not in text and "page#db" not in text
