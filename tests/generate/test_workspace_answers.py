"""`Workspace.ask` and `ragstream ask` on a real workspace: loaders, chunker, the builtin
ONNX embedder and SQLite store, with the loopback Chat Completions server as the LLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragstream.cli import main
from ragstream.config import load_settings
from ragstream.generate.events import Delta, Done, Sources
from ragstream.workspace import Workspace
from tests.generate.sse_server import ChatServer, Reply

DOCS = {
    "notes/deploy.md": "# Deploy\n\n## Start script\n\nThe start script pulls the newest image "
    "from the registry. When the container already exists, the start script stops it and "
    "removes it before starting a fresh one. It then waits for the health check to pass.\n\n"
    "## Restart time\n\nA restart usually takes about forty seconds on a small instance, most "
    "of it spent pulling the image.\n",
    "notes/keys.md": "# Keys\n\nRotate the API key every ninety days. Store the new key in the "
    "parameter store as a SecureString, then restart the service.\n",
    "notes/dns.txt": "The DNS record follows the instance's public address at every boot.\n",
}
QUESTION = "What does the start script do when the container already exists?"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("answers")
    for name, text in DOCS.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text, encoding="utf-8")
    with Workspace.open(load_settings({"workspace": root / "ws"}, env={})) as ws:
        report = ws.ingest([root / "docs"])
        assert not report.failed
    return root


@pytest.fixture
def workspace(folder: Path) -> Iterator[Workspace]:
    with Workspace.open(load_settings({"workspace": folder / "ws"}, env={})) as ws:
        yield ws


def test_offline_answer_quotes_and_cites_the_right_section(workspace: Workspace) -> None:
    events = list(workspace.ask(QUESTION))
    sources, done = events[0], events[-1]
    assert isinstance(sources, Sources) and isinstance(done, Done)
    assert done.offline
    assert "stops it and removes it before starting a fresh one [" in done.answer
    assert done.citations and done.citations[0].path == "docs/notes/deploy.md"
    assert "Start script" in done.citations[0].label
    assert "ninety days" not in done.answer


def test_offline_follow_up_answers_the_follow_up(workspace: Workspace) -> None:
    history = [("user", QUESTION), ("assistant", "It removes the old container [1].")]
    done = list(workspace.ask("and how long does it take?", history=history))[-1]
    assert isinstance(done, Done)
    assert done.query == f"{QUESTION} and how long does it take?"
    first_sentence = done.answer.split("\n\n")[0]
    assert "forty seconds" in first_sentence
    assert any("Restart time" in s.label for s in done.citations)


def test_llm_answer_over_real_chunks(workspace: Workspace, chat_server: ChatServer) -> None:
    chat_server.script(Reply(pieces=["It replaces ", "the container [1]", " [9]."]))
    llm = Workspace(
        workspace.settings.replace(openai_api_key="sk-x", openai_base_url=chat_server.base_url)
    )
    events = list(llm.ask(QUESTION))
    llm.close()
    sources, done = events[0], events[-1]
    assert isinstance(sources, Sources) and isinstance(done, Done)
    assert (
        "".join(e.text for e in events if isinstance(e, Delta)) == "It replaces the container [1]."
    )
    assert done.citations == (sources.sources[0],)
    context = chat_server.requests[0].body["messages"][-1]["content"]
    assert f"[1] {sources.sources[0].label}\n" in context
    assert "removes it before starting a fresh one" in context


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_cli_ask_prints_answer_then_sources(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    code, out, err = run_cli(["ask", QUESTION, "-w", str(folder / "ws"), "--stats"], capsys)
    assert code == 0, err
    assert "removes it before starting a fresh one [1]." in out
    assert "No LLM was used" in out
    assert (
        out.rstrip()
        .splitlines()[-1]
        .startswith('[1] docs/notes/deploy.md L3-5 § "Deploy > Start script"')
    )
    assert "(offline)" in err


def test_cli_prompt_only_sends_nothing(
    folder: Path, capsys: pytest.CaptureFixture[str], chat_server: ChatServer
) -> None:
    argv = [
        "ask",
        QUESTION,
        "-w",
        str(folder / "ws"),
        "--prompt-only",
        "--base-url",
        chat_server.base_url,
    ]
    code, out, _ = run_cli(argv, capsys)
    assert code == 0
    assert out.startswith("### Instructions") and "[1] docs/notes/deploy.md" in out
    assert out.rstrip().endswith(f"Question: {QUESTION}")
    assert chat_server.requests == []


def test_cli_bad_key_is_one_line_without_traceback_or_key(
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    chat_server: ChatServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file = folder / "key.txt"
    key_file.write_text("sk-live-VERY-SECRET\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(key_file))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    chat_server.script(
        Reply(401, error={"message": "Incorrect API key provided: sk-live-VERY-SECRET"})
    )
    argv = ["ask", QUESTION, "-w", str(folder / "ws"), "--base-url", chat_server.base_url]
    code, out, err = run_cli(argv, capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {chat_server.base_url} rejected the API key (401): "
        "check OPENAI_API_KEY or OPENAI_API_KEY_FILE"
    ]
    assert "Traceback" not in err and "VERY-SECRET" not in out + err
    assert chat_server.requests[0].headers["authorization"] == "Bearer sk-live-VERY-SECRET"
