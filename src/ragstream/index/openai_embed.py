"""Embeddings from OpenAI's API (or any server speaking its /v1/embeddings), when configured.

Used only when the `embedder` setting is `openai:<model>`. Token spans and counts, which the
chunker needs offline and fast, come from the builtin MiniLM tokenizer: an approximation of
OpenAI's own BPE (word pieces run a little longer than BPE tokens on English prose), which is
harmless here because chunks of a few hundred tokens are far below the API's 8191 limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from ragstream.errors import ConfigError, IndexError_
from ragstream.index.onnx import BUILTIN_DIR, ModelCard, TokenizerFile
from ragstream.openai_client import Endpoint, explain, openai_client

KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
KNOWN_DIMS["text-embedding-ada-002"] = 1536
BATCH = 128  # inputs per request: well under the API's 2048 inputs and 300k tokens


class OpenAIEmbedder:
    max_tokens = 8191

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        dim: int | None = None,
        batch_size: int = BATCH,
        max_retries: int = 2,
    ) -> None:
        if not model:
            raise ConfigError(
                "embedder='openai:' names no model; use e.g. openai:text-embedding-3-small"
            )
        if not api_key:
            raise ConfigError(
                f"embedder=openai:{model} needs an API key: set OPENAI_API_KEY or "
                "OPENAI_API_KEY_FILE, or use embedder=builtin to stay offline"
            )
        self.model = model
        self.name = f"openai:{model}"
        self.endpoint = Endpoint(api_key, base_url, timeout)
        self.url = self.endpoint.url
        self._requested_dim = dim
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._client = openai_client(self.endpoint, max_retries)
        # Known models answer from the table; any other is asked once, with a probe.
        self.dim: int = dim or KNOWN_DIMS.get(model) or self._request(["probe"]).shape[1]

    @cached_property
    def _tokens(self) -> TokenizerFile:
        card = ModelCard.read(BUILTIN_DIR, default_name=BUILTIN_DIR.name)
        return TokenizerFile(BUILTIN_DIR / "tokenizer.json", card.max_tokens)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self._tokens.token_spans(text)

    def count_tokens(self, text: str) -> int:
        return self._tokens.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._request(texts[start : start + self._batch_size])
            for start in range(0, len(texts), self._batch_size)
        ]
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._request([text])[0]

    def _request(self, texts: Sequence[str]) -> np.ndarray:
        options: dict[str, Any] = {"dimensions": self._requested_dim} if self._requested_dim else {}
        # The API rejects empty strings; a space embeds as "nothing" just as well.
        inputs = [text if text.strip() else " " for text in texts]
        try:
            response = self._client.embeddings.create(
                model=self.model, input=inputs, encoding_format="float", **options
            )
            rows = sorted(response.data, key=lambda item: item.index)
        except Exception as exc:  # translated to one line; the key never appears in it
            raise self._translate(exc) from None
        if len(rows) != len(inputs):
            raise IndexError_(
                f"{self.url} returned {len(rows)} embeddings for {len(inputs)} texts "
                f"(embedder={self.name}); check that the server speaks OpenAI's API"
            )
        vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
        # OpenAI's vectors are unit length already; other servers' may not be.
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _translate(self, exc: Exception) -> Exception:
        failure = explain(
            exc,
            where=f"{self.url} (embedder={self.name})",
            timeout=self.endpoint.timeout,
            retries=self._max_retries,
            no_model=f"has no embedding model {self.model!r} (404): check the embedder "
            "setting or OPENAI_BASE_URL",
        )
        return (ConfigError if failure.setting else IndexError_)(failure.message)
