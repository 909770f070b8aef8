"""The OpenAI-compatible door with the official `openai` client, against a running server:
offline (extractive) and with a loopback LLM stand-in, streamed and not."""

from __future__ import annotations

import json
from collections.abc import Callable

import openai
import pytest

from tests.api.server import ApiServer
from tests.app.serve_helpers import free_port
from tests.generate.sse_server import ChatServer, Reply, chunk_event

pytestmark = pytest.mark.slow
QUESTION = "How do I roll back a release?"


@pytest.fixture(scope="module")
def offline(api_factory: Callable[..., ApiServer]) -> ApiServer:
    return api_factory()


@pytest.fixture(scope="module")
def online(api_factory: Callable[..., ApiServer], chat_server: ChatServer) -> ApiServer:
    return api_factory(env={"OPENAI_BASE_URL": chat_server.base_url, "OPENAI_API_KEY": "sk-x"})


def client(server: ApiServer, token: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=token or server.token("openai"), max_retries=0
    )


def test_models_lists_ragstream(offline: ApiServer) -> None:
    assert [m.id for m in client(offline).models.list()] == ["ragstream"]


def test_offline_answer_is_extractive_with_markers_footer_and_sources(offline: ApiServer) -> None:
    reply = client(offline).chat.completions.create(
        model="ragstream", messages=[{"role": "user", "content": QUESTION}]
    )
    text = reply.choices[0].message.content or ""
    answer, _, footer = text.partition("\n\nSources:\n")
    assert "rollback" in answer and "[1]" in answer
    assert "deployment-runbook.pdf p.3" in footer
    sources = (reply.model_extra or {})["sources"]
    assert {"n", "path", "page", "title", "label", "snippet", "chunk_id"} <= set(sources[0])
    assert all(f"[{s['n']}] {s['label']}" in footer for s in sources)


def test_offline_stream_carries_the_same_answer(offline: ApiServer) -> None:
    stream = client(offline).chat.completions.create(
        model="ragstream",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "rollback" in text and "\n\nSources:\n[" in text
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["sources"]
    assert chunks[-1].usage is not None and not chunks[-1].choices


def test_history_reaches_the_library_without_our_footer(
    online: ApiServer, chat_server: ChatServer
) -> None:
    chat_server.script(Reply(pieces=["How long are backups kept?"]), Reply())
    client(online).chat.completions.create(
        model="ragstream",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "How long are logs kept?"},
            {"role": "assistant", "content": "Ninety days [1].\n\nSources:\n[1] policy.docx"},
            {"role": "user", "content": [{"type": "text", "text": "And backups?"}]},
        ],
    )
    rewrite, answer = (json.dumps(r.body) for r in chat_server.requests)
    assert "How long are logs kept?" in rewrite and "Ninety days [1]." in rewrite
    assert "policy.docx" not in rewrite and "You are helpful" not in rewrite
    assert "And backups?" in answer  # the question as asked; retrieval used the rewrite


def test_llm_answer_streamed_and_not(online: ApiServer, chat_server: ChatServer) -> None:
    api = client(online)
    chat_server.script(Reply(), Reply())
    reply = api.chat.completions.create(
        model="ragstream", messages=[{"role": "user", "content": QUESTION}]
    )
    text = reply.choices[0].message.content or ""
    assert text.startswith("The start script removes the old container [1]")
    assert "\n\nSources:\n[1] " in text and "[2] " in text.split("Sources:")[1]
    assert reply.usage is not None and reply.usage.prompt_tokens == 42
    assert [s["n"] for s in (reply.model_extra or {})["sources"]] == [1, 2]
    sent = chat_server.requests[-1].body["messages"]
    assert QUESTION in sent[-1]["content"] and "[1]" in sent[-1]["content"]

    stream = api.chat.completions.create(
        model="ragstream", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces).startswith("The start script removes the old container [1]")
    assert len([p for p in pieces if p]) >= 3  # streamed, not one block


def test_unreachable_llm_is_503(api_factory: Callable[..., ApiServer]) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    server = api_factory(env={"OPENAI_BASE_URL": dead, "OPENAI_API_KEY": "sk-secret-value"})
    with pytest.raises(openai.APIStatusError) as caught:
        client(server).chat.completions.create(
            model="ragstream", messages=[{"role": "user", "content": QUESTION}]
        )
    assert caught.value.status_code == 503
    assert "sk-secret-value" not in str(caught.value.body)
    with server.client(server.token("rest")) as http:
        for stream in (False, True):  # the stream starts only once the LLM answered
            r = http.post("/api/v1/ask", json={"question": QUESTION, "stream": stream})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "llm_unavailable"
            assert "sk-secret-value" not in r.text


def test_llm_failing_mid_answer_ends_streams_with_an_error(
    online: ApiServer, chat_server: ChatServer
) -> None:
    good = json.dumps(chunk_event("gpt-4o-mini", {"content": "Run the rollback command. "}))
    broken = Reply(raw=[good, '{"id": "x", "choices": [{"delta": ', "[DONE]"])
    chat_server.script(broken)
    stream = client(online).chat.completions.create(
        model="ragstream", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    seen = []
    with pytest.raises(openai.APIError, match="malformed"):
        for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "Run the rollback command." in "".join(seen)

    chat_server.script(broken)
    with (
        online.client(online.token("sse")) as http,
        http.stream("POST", "/api/v1/ask", json={"question": QUESTION, "stream": True}) as r,
    ):
        kinds = [line[7:] for line in r.iter_lines() if line.startswith("event: ")]
    assert kinds[0] == "sources" and "delta" in kinds and kinds[-1] == "error"


def test_bad_requests_are_openai_style_errors(offline: ApiServer) -> None:
    api = client(offline)
    with pytest.raises(openai.NotFoundError):
        api.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="no user message"):
        api.chat.completions.create(
            model="ragstream", messages=[{"role": "system", "content": "x"}]
        )
    with pytest.raises(openai.UnprocessableEntityError):
        api.chat.completions.create(model="ragstream", messages=[])
    with pytest.raises(openai.AuthenticationError):
        client(offline, token="rst_00000000_" + "x" * 43).models.list()
