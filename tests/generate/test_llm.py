"""The OpenAI path against a loopback server speaking Chat Completions over SSE."""

from __future__ import annotations

import json

import pytest

from ragstream.config import Settings
from ragstream.errors import GenerationError
from ragstream.generate.events import Usage
from ragstream.generate.llm import ChatModel, llm_configured
from tests.generate.sse_server import ChatServer, Reply, chunk_event

KEY = "sk-test-SECRET-0123456789"
MESSAGES = [{"role": "user", "content": "What does the start script do?"}]


def model(server: ChatServer, timeout: float = 5.0, retries: int = 3) -> ChatModel:
    settings = Settings(openai_api_key=KEY, openai_base_url=server.base_url, openai_timeout=timeout)
    return ChatModel(settings, "gpt-4o-mini", max_retries=retries)


def test_llm_is_used_only_when_a_key_or_server_is_configured() -> None:
    assert not llm_configured(Settings())
    assert llm_configured(Settings(openai_api_key="k"))
    assert llm_configured(Settings(openai_base_url="http://127.0.0.1:1/v1"))


def test_stream_yields_deltas_in_order_then_usage(chat_server: ChatServer) -> None:
    chat_server.script(Reply(pieces=["Hel", "lo ", "world [1]."], usage=(30, 4)))
    pieces = list(model(chat_server).stream(MESSAGES))
    assert pieces == ["Hel", "lo ", "world [1].", Usage(30, 4)]
    (request,) = chat_server.requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["messages"] == MESSAGES
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_429_is_retried_with_backoff_then_succeeds(chat_server: ChatServer) -> None:
    limited = Reply(429, error={"message": "Rate limit reached", "type": "requests"})
    limited.headers = {"retry-after-ms": "20"}
    chat_server.script(limited, Reply(pieces=["fine"]))
    pieces = list(model(chat_server).stream(MESSAGES))
    assert pieces[0] == "fine"
    assert len(chat_server.requests) == 2


def test_5xx_is_retried_then_succeeds(chat_server: ChatServer) -> None:
    chat_server.script(Reply(503, headers={"retry-after-ms": "10"}), Reply(pieces=["ok"]))
    assert list(model(chat_server).stream(MESSAGES)) == ["ok", Usage(42, 7)]
    assert len(chat_server.requests) == 2


def test_429_forever_gives_one_line_error_after_bounded_retries(chat_server: ChatServer) -> None:
    chat_server.script(*[Reply(429, headers={"retry-after-ms": "5"}) for _ in range(5)])
    with pytest.raises(GenerationError, match=r"429 .* after 2 retries") as err:
        list(model(chat_server, retries=2).stream(MESSAGES))
    assert len(chat_server.requests) == 3
    assert "\n" not in str(err.value)


def test_401_names_the_key_setting_and_never_the_key(chat_server: ChatServer) -> None:
    error = {
        "message": f"Incorrect API key provided: {KEY}.",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
    chat_server.script(Reply(401, error=error))
    with pytest.raises(GenerationError) as err:
        list(model(chat_server).stream(MESSAGES))
    message = str(err.value)
    assert "OPENAI_API_KEY" in message and "401" in message
    assert KEY not in message and "SECRET" not in message
    assert len(chat_server.requests) == 1  # a bad key is not retried


def test_timeout_before_the_first_byte(chat_server: ChatServer) -> None:
    chat_server.script(Reply(delay=2.0))
    with pytest.raises(GenerationError, match=r"did not answer within 0.3 s"):
        list(model(chat_server, timeout=0.3, retries=0).stream(MESSAGES))


def test_timeout_in_the_middle_of_the_stream(chat_server: ChatServer) -> None:
    chat_server.script(Reply(pieces=["a", "b", "c"], piece_delay=1.0))
    with pytest.raises(GenerationError, match=r"did not answer within 0.3 s"):
        list(model(chat_server, timeout=0.3, retries=0).stream(MESSAGES))


def test_malformed_chunk_is_a_clear_error(chat_server: ChatServer) -> None:
    good = chunk_event("gpt-4o-mini", {"content": "Hello"})
    chat_server.script(
        Reply(raw=[json.dumps(good), '{"id": "x", "choices": [{"delta": ', "[DONE]"])
    )
    stream = model(chat_server).stream(MESSAGES)
    assert next(stream) == "Hello"  # text before the broken chunk still arrives
    with pytest.raises(GenerationError, match=r"broke off or was malformed"):
        next(stream)


def test_error_event_inside_the_stream(chat_server: ChatServer) -> None:
    error = {"error": {"message": "The server had an error", "type": "server_error"}}
    chat_server.script(Reply(raw=[json.dumps(error), "[DONE]"]))
    with pytest.raises(GenerationError, match=r"error mid-answer: The server had an error"):
        list(model(chat_server).stream(MESSAGES))


def test_unreachable_server(chat_server: ChatServer) -> None:
    settings = Settings(openai_base_url="http://127.0.0.1:9/v1", openai_timeout=2)
    with pytest.raises(GenerationError, match=r"cannot reach http://127.0.0.1:9/v1"):
        list(ChatModel(settings, max_retries=0).stream(MESSAGES))


def test_unknown_model_404(chat_server: ChatServer) -> None:
    chat_server.script(Reply(404, error={"message": "The model `nope` does not exist"}))
    with pytest.raises(GenerationError, match=r"no model 'gpt-4o-mini' \(404\).*--model"):
        list(model(chat_server).stream(MESSAGES))


def test_server_without_stream_options_support(chat_server: ChatServer) -> None:
    rejected = Reply(400, error={"message": "Unrecognized request argument: stream_options"})
    chat_server.script(rejected, Reply(pieces=["plain"]))
    assert list(model(chat_server).stream(MESSAGES)) == ["plain"]
    assert "stream_options" not in chat_server.requests[1].body


def test_complete_returns_the_reply_text(chat_server: ChatServer) -> None:
    chat_server.script(Reply(pieces=["How long does the start script take?"]))
    assert model(chat_server).complete(MESSAGES) == "How long does the start script take?"
    assert not chat_server.requests[0].body.get("stream")
