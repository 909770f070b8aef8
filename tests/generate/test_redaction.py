"""An LLM server that echoes the Authorization header, and a base URL holding user:pass@:
neither secret reaches the CLI's output (issue 14.4). Real workspace, loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.cli import main
from tests.generate.sse_server import ChatServer, Reply

KEY = "sk-echoed-KEY-0123456789"
BASE_PASSWORD = "base-url-Pa55"


def test_echoed_key_and_base_url_credentials_never_print(
    chat_server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in ("OPENAI_BASE_URL", "RAGSTREAM_CONFIG", "RAGSTREAM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "run.md").write_text("# Runbook\n\nThe start script restarts the container.\n")
    workspace = ["--workspace", str(tmp_path / "ws")]
    main(["ingest", "-q", str(docs), *workspace])
    capsys.readouterr()
    # what a misconfigured proxy really sends back: the request's headers in the body
    echo = f"invalid request; headers were Authorization: Bearer {KEY}, key {KEY}"
    chat_server.script(Reply(400, error={"message": echo, "type": "invalid_request_error"}))
    host = chat_server.base_url.split("://", 1)[1]
    base_url = f"http://proxy:{BASE_PASSWORD}@{host}"
    with pytest.raises(SystemExit) as exit_info:
        main(["ask", "What does the start script do?", "--base-url", base_url, *workspace])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert chat_server.requests, "the request reached the server"
    assert "400" in err and "invalid request" in err  # the reason is kept...
    for secret in (KEY, BASE_PASSWORD):  # ...the secrets are not
        assert secret not in err and secret not in out
