"""Abstention in the answer stream: offline it says so in one line and lists the closest
passages as not answers; with an LLM the prompt carries the same rule. The default
`abstain = "auto"` runs the real cross-encoder on the top hits."""

from __future__ import annotations

from ragstream.config import Settings
from ragstream.generate.answer import prompt_messages
from ragstream.generate.events import Done
from ragstream.generate.extractive import NOT_ANSWERED, OFFLINE_NOTE
from ragstream.generate.prompt import SYSTEM_PROMPT, UNANSWERED_NOTE, render_prompt
from ragstream.models import Hit
from ragstream.retrieve.abstain import DENSE_FLOOR
from tests.generate.factories import HITS as ON_TOPIC
from tests.generate.factories import QUESTION, Retriever, answer, hit
from tests.generate.sse_server import ChatServer, Reply

LOW = DENSE_FLOOR - 0.05


def scored(h: Hit, dense: float) -> Hit:
    return Hit(h.chunk, h.score, h.ranks, {"dense": dense})


HITS = [
    scored(hit("Boil pasta in salted water for nine minutes.", "notes/pasta.md"), LOW),
    scored(hit("Rotate the API key every ninety days.", "notes/keys.md", page=2), LOW - 0.1),
]


def test_offline_abstention_is_one_line_then_the_closest_passages() -> None:
    events = list(answer(Retriever(Settings(), hits=list(HITS)), "What is the capital of France?"))
    done = events[-1]
    assert isinstance(done, Done) and not done.answered and done.citations == ()
    first, *rest = done.answer.splitlines()
    assert first == NOT_ANSWERED
    assert "closest, not answers" in done.answer
    assert "- notes/pasta.md" in rest and "- notes/keys.md p.2" in rest
    assert OFFLINE_NOTE not in done.answer  # nothing was quoted as an answer


def test_confident_hits_are_answered() -> None:
    hits = [scored(h, DENSE_FLOOR + 0.2) for h in HITS]
    done = list(answer(Retriever(Settings(), hits=hits), "how long to boil pasta"))[-1]
    assert isinstance(done, Done) and done.answered and "[1]" in done.answer


def assembled_prompt(retriever: Retriever, question: str) -> str:
    messages, _ = prompt_messages(question, settings=retriever.settings, search=retriever.search)
    return render_prompt(messages)


def test_llm_prompt_carries_the_rule_and_the_note() -> None:
    settings = Settings(openai_api_key="sk-test", openai_base_url="http://127.0.0.1:9/v1")
    unsure = assembled_prompt(Retriever(settings, hits=list(HITS)), QUESTION)
    assert "closest, not answers" in SYSTEM_PROMPT and UNANSWERED_NOTE in unsure
    sure = [scored(h, DENSE_FLOOR + 0.2) for h in ON_TOPIC]
    assert UNANSWERED_NOTE not in assembled_prompt(Retriever(settings, hits=sure), QUESTION)
    # on-topic passages that do not answer: the model withholds, not the dense floor
    near = [scored(h, DENSE_FLOOR + 0.3) for h in ON_TOPIC[2:]]
    assert UNANSWERED_NOTE in assembled_prompt(Retriever(settings, hits=near), QUESTION)


def test_abstain_off_never_withholds() -> None:
    settings = Settings(abstain="off")
    done = list(answer(Retriever(settings, hits=list(HITS)), "What is the capital of France?"))[-1]
    assert isinstance(done, Done) and done.answered


def test_llm_request_carries_the_rule_and_done_says_not_answered(chat_server: ChatServer) -> None:
    chat_server.script(Reply(pieces=["The documents do not answer this."]))
    settings = Settings(openai_api_key="sk-test", openai_base_url=chat_server.base_url)
    near = [scored(h, DENSE_FLOOR + 0.3) for h in ON_TOPIC[2:]]  # on topic, no answer
    done = list(answer(Retriever(settings, hits=near), QUESTION))[-1]
    assert isinstance(done, Done) and not done.answered and not done.offline
    [request] = chat_server.requests
    system, *_, user = request.body["messages"]
    assert system["content"] == SYSTEM_PROMPT and "closest, not answers" in system["content"]
    assert f"{UNANSWERED_NOTE}\n\nQuestion: {QUESTION}" in user["content"]
