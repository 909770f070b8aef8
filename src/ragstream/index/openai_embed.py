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

KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
KNOWN_DIMS["text-embedding-ada-002"] = 1536
DEFAULT_URL = "https://api.openai.com/v1"
BATCH = 128  # inputs per request: well under the API's 2048 inputs and 300k tokens


class OpenAIEmbedder:
    max_tokens = 8191

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        dim: int | None = None,
        batch_size: int = BATCH,
        max_retries: int = 2,
    ) -> None:
        """Key, URL and timeout default to the settings (OPENAI_API_KEY[_FILE], ...)."""
        import openai

        if not model:
            raise ConfigError(
                "embedder='openai:' names no model; use e.g. openai:text-embedding-3-small"
            )
        if api_key is None or base_url is None or timeout is None:
            from ragstream.config import load_settings

            settings = load_settings()
            api_key = api_key or settings.openai_api_key
            base_url = base_url or settings.openai_base_url
            timeout = timeout or settings.openai_timeout
        if not api_key:
            raise ConfigError(
                f"embedder=openai:{model} needs an API key: set OPENAI_API_KEY or "
                "OPENAI_API_KEY_FILE, or use embedder=builtin to stay offline"
            )
        self.model = model
        self.name = f"openai:{model}"
        self.url = base_url or DEFAULT_URL
        self._requested_dim = dim
        self._batch_size = batch_size
        self._client = openai.OpenAI(
            api_key=api_key, base_url=self.url, timeout=timeout, max_retries=max_retries
        )
        self._timeout = timeout
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
        import openai

        where = f"{self.url} (embedder={self.name})"
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ConfigError(
                f"{where} rejected the API key ({exc.status_code}): check OPENAI_API_KEY or "
                "OPENAI_API_KEY_FILE"
            )
        if isinstance(exc, openai.NotFoundError):
            return ConfigError(
                f"{where} has no embedding model {self.model!r} (404): check the embedder "
                "setting or OPENAI_BASE_URL"
            )
        if isinstance(exc, openai.BadRequestError):
            return ConfigError(f"{where} refused the request (400): {_detail(exc)}")
        if isinstance(exc, openai.RateLimitError):
            return IndexError_(
                f"{where} kept answering 429 (rate limit or quota): wait, or check the quota"
            )
        if isinstance(exc, openai.APITimeoutError):
            return IndexError_(
                f"{where} did not answer within {self._timeout:g} s: retry, or raise "
                "RAGSTREAM_OPENAI_TIMEOUT"
            )
        if isinstance(exc, openai.APIConnectionError):
            return IndexError_(f"cannot reach {where}: check OPENAI_BASE_URL and the network")
        if isinstance(exc, openai.APIStatusError):
            return IndexError_(f"{where} answered {exc.status_code}: {_detail(exc)}")
        return IndexError_(f"the embeddings request to {where} failed ({type(exc).__name__})")


def _detail(exc: Any) -> str:
    """The server's own error message (not the client's "Error code: ..." wrapper)."""
    body = getattr(exc, "body", None)
    text = body.get("message") if isinstance(body, dict) else None
    return " ".join(str(text or getattr(exc, "message", exc)).split())[:160]
