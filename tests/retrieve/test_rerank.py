"""The OpenAI reranker against a local fake of the chat-completions HTTP API."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from ragstream.config import Settings
from ragstream.errors import ConfigError, GenerationError
from ragstream.models import Chunk
from ragstream.openai_client import Endpoint
from ragstream.retrieve.rerank import OpenAIReranker, create_reranker, parse_scores

SECRET = "sk-test-secret-value"


class FakeChat(BaseHTTPRequestHandler):
    """Grades each numbered passage by how many question words it contains."""

    requests: ClassVar[list[dict[str, Any]]] = []
    status = 200
    reply_override: str | None = None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChat.requests.append({"path": self.path, "auth": self.headers["Authorization"], **body})
        if FakeChat.status != 200:
            self._send(FakeChat.status, {"error": {"message": "model overloaded"}})
            return
        prompt = body["messages"][0]["content"]
        question = set(re.findall(r"\w+", prompt.split("Question:")[1].split("\n")[0].lower()))
        passages = re.findall(r"^\[\d+\] (.*)$", prompt, re.MULTILINE)
        scores = [len(question & set(re.findall(r"\w+", p.lower()))) for p in passages]
        content = FakeChat.reply_override or f"```json\n{json.dumps({'scores': scores})}\n```"
        self._send(200, {
            "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
        })  # fmt: skip

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    FakeChat.requests, FakeChat.status, FakeChat.reply_override = [], 200, None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeChat)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()
    httpd.server_close()


def chunks(*texts: str) -> list[Chunk]:
    return [Chunk(id=str(i), path="a.md", text=t, ordinal=i) for i, t in enumerate(texts)]


def test_reranker_scores_passages_through_the_api(server: str) -> None:
    settings = Settings(reranker="openai:tiny-judge", openai_api_key=SECRET, openai_base_url=server)
    reranker = create_reranker(settings)
    assert isinstance(reranker, OpenAIReranker)
    scores = reranker.rerank("rotate api key", chunks("pasta water", "rotate the api key", "api"))
    assert scores == [0.0, 3.0, 1.0]
    [request] = FakeChat.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["model"] == "tiny-judge" and request["temperature"] == 0
    assert request["auth"] == f"Bearer {SECRET}"


def test_server_error_is_one_line_and_keeps_the_key_secret(server: str) -> None:
    FakeChat.status = 500
    reranker = OpenAIReranker("tiny-judge", Endpoint(SECRET, server, timeout=5))
    with pytest.raises(GenerationError, match="reranker openai:tiny-judge failed") as info:
        reranker.rerank("q", chunks("a"))
    assert "\n" not in str(info.value) and SECRET not in str(info.value)


def test_reply_with_the_wrong_number_of_scores(server: str) -> None:
    FakeChat.reply_override = '{"scores": [1]}'
    with pytest.raises(GenerationError, match="returned 1 scores for 2 passages"):
        OpenAIReranker("m", Endpoint(None, server, 5)).rerank("q", chunks("a", "b"))


def test_parse_scores_tolerates_chatter() -> None:
    assert parse_scores('Sure! {"scores": [1, 2.5]} hope this helps', 2) == [1.0, 2.5]
    for bad in ("no json", '{"scores": "high"}', '{"other": [1]}', '{"scores": [1, "x"]}'):
        with pytest.raises(GenerationError):
            parse_scores(bad, 2)


def test_create_reranker_settings() -> None:
    assert create_reranker(Settings(reranker="none")) is None
    with pytest.raises(ConfigError, match="reranker='cohere:x'"):
        create_reranker(Settings(reranker="cohere:x"))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        create_reranker(Settings(reranker="openai:gpt-4o-mini"))
    assert create_reranker(Settings(reranker="openai:m", openai_base_url="http://127.0.0.1:1/v1"))
