"""The answer stream end to end over a stand-in retriever (hits built directly) and the
loopback Chat Completions server: event order, citations, follow-ups, prompt export."""

from __future__ import annotations

import pytest

from ragstream.config import Settings
from ragstream.errors import GenerationError
from ragstream.generate.answer import prompt_messages
from ragstream.generate.events import Delta, Done, Sources, Usage
from ragstream.generate.extractive import NOTHING_FOUND, OFFLINE_NOTE
from ragstream.generate.prompt import render_prompt
from tests.generate.factories import QUESTION, Retriever, answer, hit
from tests.generate.sse_server import ChatServer, Reply


def online(server: ChatServer, **kw: object) -> Retriever:
    return Retriever(Settings(openai_api_key="sk-test", openai_base_url=server.base_url, **kw))  # type: ignore[arg-type]


def test_offline_by_default_sources_then_extractive_answer_then_done() -> None:
    events = list(answer(Retriever(Settings()), QUESTION))
    assert [type(e) for e in events] == [Sources, Delta, Done]
    sources, delta, done = events
    assert isinstance(sources, Sources) and isinstance(delta, Delta) and isinstance(done, Done)
    assert [s.label for s in sources.sources] == [
        'notes/deploy.md § "Start script"',
        "docs/runbook.pdf p.7",
        "notes/keys.md",
    ]
    assert done.offline and done.usage is None and done.model is None
    assert done.answer == delta.text and done.answer.endswith(OFFLINE_NOTE)
    assert "removes it before starting a fresh one [1]." in done.answer
    assert [s.n for s in done.citations] == [1]
    assert done.timings.retrieval_ms <= done.timings.total_ms


def test_llm_answer_streams_after_sources_and_cleans_markers(chat_server: ChatServer) -> None:
    chat_server.script(
        Reply(pieces=["It removes ", "the old container [1][", "7] and restarts", " it [2]."])
    )
    events = answer(online(chat_server), QUESTION)
    first = next(events)
    assert isinstance(first, Sources) and len(first.sources) == 3
    assert chat_server.requests == [], "sources come before any LLM request"
    rest = list(events)
    deltas = [e.text for e in rest if isinstance(e, Delta)]
    done = rest[-1]
    assert isinstance(done, Done)
    assert "".join(deltas) == done.answer == "It removes the old container [1] and restarts it [2]."
    assert [s.label for s in done.citations] == [
        'notes/deploy.md § "Start script"',
        "docs/runbook.pdf p.7",
    ]
    assert done.usage == Usage(42, 7) and done.model == "gpt-4o-mini" and not done.offline
    t = done.timings
    assert t.first_token_ms is not None and t.retrieval_ms <= t.first_token_ms <= t.total_ms
    sent = chat_server.requests[0].body["messages"]
    assert sent[-1]["content"].startswith('Context:\n\n[1] notes/deploy.md § "Start script"\n')


def test_llm_follow_up_is_rewritten_by_the_llm_before_retrieval(chat_server: ChatServer) -> None:
    chat_server.script(
        Reply(pieces=["How long does the start script take to restart the container?"])
    )
    retriever = online(chat_server)
    history = [("user", QUESTION), ("assistant", "It removes it and starts a new one [1].")]
    events = list(answer(retriever, "and how long does it take?", history))
    assert retriever.queries == ["How long does the start script take to restart the container?"]
    rewrite, final = chat_server.requests
    assert not rewrite.body.get("stream") and QUESTION in rewrite.body["messages"][1]["content"]
    assert [m["role"] for m in final.body["messages"]] == ["system", "user", "assistant", "user"]
    done = events[-1]
    assert isinstance(done, Done) and done.query == retriever.queries[0]


def test_failed_llm_rewrite_falls_back_to_the_offline_one(chat_server: ChatServer) -> None:
    refused = Reply(400, error={"message": "Unsupported value: 'temperature'"})
    chat_server.script(refused, Reply(pieces=["It takes forty seconds [2]."]))
    retriever = online(chat_server)
    history = [("user", QUESTION), ("assistant", "It removes it [1].")]
    done = list(answer(retriever, "and how long does it take?", history))[-1]
    assert retriever.queries == [f"{QUESTION} and how long does it take?"]
    assert isinstance(done, Done) and done.answer == "It takes forty seconds [2]."


def test_offline_follow_up_retrieves_with_the_previous_question() -> None:
    retriever = Retriever(Settings())
    events = list(
        answer(retriever, "and how long does it take?", [("user", QUESTION), ("assistant", "...")])
    )
    assert retriever.queries == [f"{QUESTION} and how long does it take?"]
    assert isinstance(events[0], Sources) and events[0].query == retriever.queries[0]


def test_nothing_found_sends_no_request(chat_server: ChatServer) -> None:
    retriever = online(chat_server)
    retriever.hits = []
    events = list(answer(retriever, QUESTION))
    assert isinstance(events[-1], Done) and events[-1].answer == NOTHING_FOUND
    assert chat_server.requests == []


def test_generation_error_comes_after_sources(chat_server: ChatServer) -> None:
    chat_server.script(Reply(401, error={"message": "bad key"}))
    events = answer(online(chat_server), QUESTION)
    assert isinstance(next(events), Sources)
    with pytest.raises(GenerationError, match="OPENAI_API_KEY"):
        next(events)


def test_offline_flag_wins_over_a_configured_llm(chat_server: ChatServer) -> None:
    done = list(answer(online(chat_server), QUESTION, offline=True))[-1]
    assert isinstance(done, Done) and done.offline and chat_server.requests == []


def test_small_context_window_packs_fewer_passages(chat_server: ChatServer) -> None:
    retriever = online(chat_server, context_tokens=900, model="llama3.1:8b")
    retriever.hits = [hit("word " * 150, f"d{i}.md") for i in range(6)]
    sources = next(answer(retriever, QUESTION))
    assert isinstance(sources, Sources) and 1 <= len(sources.sources) < 6


def test_prompt_only_has_instructions_numbered_context_and_question(
    chat_server: ChatServer,
) -> None:
    retriever = online(chat_server)
    history = [("user", "earlier"), ("assistant", "reply")]
    messages, _ = prompt_messages(
        QUESTION, history, settings=retriever.settings, search=retriever.search
    )
    text = render_prompt(messages)
    assert text.startswith("### Instructions\n\nYou answer questions")
    assert '[1] notes/deploy.md § "Start script"\n' in text and "[2] docs/runbook.pdf p.7\n" in text
    assert text.rstrip().endswith(f"Question: {QUESTION}")
    assert chat_server.requests == [], "--prompt-only sends nothing"
