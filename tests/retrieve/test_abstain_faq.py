"""Abstention end to end on FAQ documents (bench/data/faq-en, the building-permit answers): an
FAQ question retrieves its answer and is answered, an off-topic one is not, and
`ragstream ask --json` says which (the real embedder and cross-encoder)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.config import Settings
from ragstream.generate.events import Done, Sources
from ragstream.retrieve.evaluate import load_beir
from ragstream.workspace import Workspace

FAQ = Path(__file__).resolve().parents[2] / "bench" / "data" / "faq-en"
ANSWERABLE = {
    "How long does it take to get a building permit?": "bygglov-002",
    "What does a building permit cost?": "bygglov-003",
}
OFF_TOPIC = "What is the capital of France?"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("faq") / ".ragstream"
    documents = [d for d in load_beir(FAQ).documents() if d[0].startswith("bygglov-")]
    assert len(documents) > 10
    with Workspace(Settings(workspace=path)) as ws:
        ws.add_documents(documents)
    yield path


def events_for(path: Path, question: str) -> tuple[Sources, Done]:
    with Workspace(Settings(workspace=path)) as ws:
        sources, *_, done = list(ws.ask(question, offline=True))
    assert isinstance(sources, Sources) and isinstance(done, Done)
    return sources, done


@pytest.mark.parametrize(("question", "answer_id"), ANSWERABLE.items())
def test_an_faq_question_is_answered_from_its_answer(
    workspace: Path, question: str, answer_id: str
) -> None:
    sources, done = events_for(workspace, question)
    assert answer_id in {s.path for s in sources.sources}  # retrieved...
    assert done.answered and done.citations, done.answer  # ...and judged to answer


def test_an_off_topic_question_abstains_in_one_line(workspace: Path) -> None:
    _, done = events_for(workspace, OFF_TOPIC)
    first, *rest = done.answer.splitlines()
    assert not done.answered and done.citations == ()
    assert first == "The documents do not answer this question."
    assert "Closest passages (closest, not answers):" in rest
    assert any(line.startswith("- bygglov-") for line in rest), rest


def test_ask_json_answered_true_and_false(workspace: Path) -> None:
    for question, answered in ((next(iter(ANSWERABLE)), True), (OFF_TOPIC, False)):
        run = CliRunner().invoke(
            cli, ["ask", question, "--json", "--offline", "-w", str(workspace)]
        )
        assert run.exit_code == 0, run.output
        printed = json.loads(run.stdout)
        assert printed["answered"] is answered and bool(printed["citations"]) is answered


def test_abstain_off_answers_even_off_topic(workspace: Path) -> None:
    with Workspace(Settings(workspace=workspace, abstain="off")) as ws:
        done = list(ws.ask(OFF_TOPIC, offline=True))[-1]
    assert isinstance(done, Done) and done.answered
