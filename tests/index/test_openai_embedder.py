"""OpenAIEmbedder against a loopback server speaking /v1/embeddings (OpenAI is not reachable
here, so the fake sits at the HTTP boundary; the real `openai` client does the talking)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragstream.config import load_settings
from ragstream.errors import ConfigError, IndexError_
from ragstream.index.embedder import Embedder, create_embedder
from ragstream.index.openai_embed import OpenAIEmbedder
from ragstream.workspace import Workspace

KEY = "sk-test-not-a-real-key-123"


def fake_vector(text: str, dim: int) -> list[float]:
    """Deterministic, not normalised (the embedder must normalise what other servers send)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).normal(size=dim) * 3).tolist()


class FakeOpenAI(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []  # noqa: RUF012 (shared log, reset per test)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append(body)
        if self.path != "/v1/embeddings":
            return self._reply(404, {"error": {"message": f"no route {self.path}"}})
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._reply(401, {"error": {"message": "Incorrect API key provided"}})
        model = body["model"]
        if model == "missing-model":
            return self._reply(404, {"error": {"message": f"The model {model} does not exist"}})
        if model == "broken-model":
            return self._reply(500, {"error": {"message": "internal failure"}})
        if any(not text for text in body["input"]):
            return self._reply(400, {"error": {"message": "input cannot be an empty string"}})
        dim = body.get("dimensions") or {"text-embedding-3-small": 1536}.get(model, 24)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(text, dim)}
            for i, text in enumerate(body["input"])
        ]
        data.reverse()  # the API does not promise order: the client must sort by index
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        self._reply(200, {"object": "list", "data": data, "model": model, "usage": usage})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    FakeOpenAI.requests.clear()


def make(base_url: str, model: str = "text-embedding-3-small", **options: Any) -> OpenAIEmbedder:
    options.setdefault("api_key", KEY)
    return OpenAIEmbedder(model, base_url=base_url, timeout=5, max_retries=0, **options)


def test_embeds_in_batches_in_order_and_normalised(base_url: str) -> None:
    embedder = make(base_url, batch_size=3)
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim) == ("openai:text-embedding-3-small", 1536)
    texts = [f"text number {i}" for i in range(7)] + [""]
    vectors = embedder.embed(texts)
    assert vectors.shape == (8, 1536) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert [len(r["input"]) for r in FakeOpenAI.requests] == [3, 3, 2]
    expected = np.asarray(fake_vector("text number 5", 1536))
    np.testing.assert_allclose(vectors[5], expected / np.linalg.norm(expected), atol=1e-6)
    np.testing.assert_allclose(embedder.embed_query("text number 5"), vectors[5], atol=1e-6)
    assert embedder.embed([]).shape == (0, 1536)


def test_unknown_model_dimension_is_probed_and_dimensions_passed(base_url: str) -> None:
    assert make(base_url, "some-local-model").dim == 24
    reduced = make(base_url, dim=256)
    assert reduced.embed(["x"]).shape == (1, 256)
    assert FakeOpenAI.requests[-1]["dimensions"] == 256


def test_factory_passes_options(base_url: str) -> None:
    embedder = create_embedder(
        "openai:text-embedding-3-small", api_key=KEY, base_url=base_url, timeout=5
    )
    assert isinstance(embedder, OpenAIEmbedder) and embedder.dim == 1536


def test_token_spans_use_the_builtin_tokenizer(base_url: str) -> None:
    embedder = make(base_url)
    text = "Rotate the key, then revoke it."
    spans = embedder.token_spans(text)
    assert [text[s:e] for s, e in spans][:3] == ["Rotate", "the", "key"]
    assert embedder.count_tokens(text) == len(spans)
    assert FakeOpenAI.requests == []  # counting tokens never calls the API


def test_wrong_key_is_a_clear_config_error(base_url: str) -> None:
    embedder = make(base_url, api_key="sk-wrong-secret-value")
    with pytest.raises(ConfigError, match=r"rejected the API key \(401\)") as caught:
        embedder.embed(["hello"])
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and "\n" not in message
    assert "sk-wrong-secret-value" not in message


def test_unknown_model_and_server_errors(base_url: str) -> None:
    with pytest.raises(ConfigError, match=r"no embedding model 'missing-model' \(404\)"):
        make(base_url, "missing-model", dim=8).embed(["hello"])
    with pytest.raises(IndexError_, match=r"answered 500: internal failure"):
        make(base_url, "broken-model", dim=8).embed(["hello"])


def test_unreachable_server(base_url: str) -> None:
    embedder = make("http://127.0.0.1:9/v1")
    with pytest.raises(IndexError_, match=r"cannot reach http://127\.0\.0\.1:9/v1"):
        embedder.embed_query("hello")


def test_missing_key_names_the_settings(base_url: str) -> None:
    with pytest.raises(ConfigError, match="needs an API key: set OPENAI_API_KEY"):
        OpenAIEmbedder("text-embedding-3-small", base_url=base_url, timeout=5)


def test_the_workspace_passes_the_key_from_its_settings(tmp_path: Path, base_url: str) -> None:
    """The embedder reads no settings itself: the key (here from a secret file) comes from
    the workspace's settings."""
    (tmp_path / "key").write_text(KEY + "\n")
    settings = load_settings(
        {"workspace": tmp_path / "ws", "embedder": "openai:text-embedding-3-small"},
        env={"OPENAI_API_KEY_FILE": str(tmp_path / "key"), "OPENAI_BASE_URL": base_url},
    )
    embedder = Workspace(settings).embedder
    assert embedder.embed_query("works").shape == (1536,)
