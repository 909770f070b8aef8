"""Abstention end to end on the shipped samples/: the README's own questions are
answered, off-topic ones are not; `ragstream ask --json` reports which."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.config import Settings
from ragstream.generate.events import Done
from ragstream.workspace import Workspace

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
README_QUESTIONS = ["How do I roll back a release?", "how do I rotate the key?"]
OFF_TOPIC = ["What is the capital of France?", "How do I bake sourdough bread?"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("ws") / ".ragstream"
    with Workspace(Settings(workspace=path)) as ws:
        ws.ingest([SAMPLES])
    yield path


def done_for(path: Path, question: str) -> Done:
    with Workspace(Settings(workspace=path)) as ws:
        done = list(ws.ask(question, offline=True))[-1]
    assert isinstance(done, Done)
    return done


@pytest.mark.parametrize("question", README_QUESTIONS)
def test_the_readme_examples_are_answered(workspace: Path, question: str) -> None:
    done = done_for(workspace, question)
    assert done.answered and done.citations, done.answer


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain(workspace: Path, question: str) -> None:
    done = done_for(workspace, question)
    assert not done.answered and done.answer.startswith("The documents do not answer")


def test_ask_json(workspace: Path) -> None:
    runner = CliRunner()
    for question, answered in ((README_QUESTIONS[0], True), (OFF_TOPIC[0], False)):
        result = runner.invoke(cli, ["ask", question, "--json", "--offline", "-w", str(workspace)])
        assert result.exit_code == 0, result.output
        printed = json.loads(result.stdout)
        assert set(printed) == {"answer", "citations", "answered"}
        assert printed["answered"] is answered
        assert bool(printed["citations"]) is answered
        for citation in printed["citations"]:
            assert (SAMPLES / citation["path"].removeprefix("samples/")).is_file()
