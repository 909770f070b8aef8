"""The LLM behind answers: any server that speaks OpenAI's Chat Completions API.

The client and the reading of failures are shared with the embedder and the reranker
(ragstream.openai_client); every failure leaves here as one GenerationError line that
says what to do. The key is never part of a message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ragstream.config import Settings
from ragstream.errors import GenerationError
from ragstream.generate.events import Usage
from ragstream.openai_client import Endpoint, explain, openai_client

MAX_RETRIES = 3


def llm_configured(settings: Settings) -> bool:
    """An LLM is used when a key or a server URL is set; otherwise answers are extractive."""
    return bool(settings.openai_api_key or settings.openai_base_url)


def _params(messages: Sequence[dict[str, str]]) -> Any:
    """Plain role/content dicts are what the client's typed message params are at run time."""
    return [dict(m) for m in messages]


class ChatModel:
    """Streams chat completions from one server and model."""

    def __init__(
        self, settings: Settings, model: str | None = None, max_retries: int = MAX_RETRIES
    ) -> None:
        self.model = model or settings.model
        self.max_retries = max_retries
        self.endpoint = Endpoint.of(settings)
        self._client = openai_client(self.endpoint, max_retries)

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str | Usage]:
        """Answer text as it arrives, then the token usage if the server reports it."""
        stream = self._open(messages)
        try:
            for chunk in stream:
                if chunk.usage is not None:
                    yield Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta.content:
                        yield choice.delta.content
        except GenerationError:
            raise
        except Exception as exc:  # any failure mid-stream: broken JSON, read timeout, reset
            raise self._translate(exc, mid_stream=True) from None
        finally:
            stream.close()

    def complete(self, messages: Sequence[dict[str, str]], max_tokens: int = 100) -> str:
        """A short non-streamed reply (used to rewrite follow-up questions)."""
        try:
            reply = self._client.chat.completions.create(
                model=self.model, messages=_params(messages), max_tokens=max_tokens, temperature=0
            )
            return reply.choices[0].message.content or ""
        except Exception as exc:
            raise self._translate(exc) from None

    def _open(self, messages: Sequence[dict[str, str]]) -> Any:
        import openai

        request: dict[str, Any] = {
            "model": self.model,
            "messages": _params(messages),
            "stream": True,
        }
        try:
            return self._client.chat.completions.create(
                **request, stream_options={"include_usage": True}
            )
        except openai.BadRequestError as exc:
            # some OpenAI-compatible servers reject stream_options: ask again without
            if "stream_options" not in str(exc):
                raise self._translate(exc) from None
        except Exception as exc:
            raise self._translate(exc) from None
        try:
            return self._client.chat.completions.create(**request)
        except Exception as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: Exception, mid_stream: bool = False) -> GenerationError:
        failure = explain(
            exc,
            where=self.endpoint.url,
            timeout=self.endpoint.timeout,
            retries=self.max_retries,
            no_model=f"has no model {self.model!r} (404): pick another with --model or "
            "RAGSTREAM_MODEL, or check OPENAI_BASE_URL",
            mid_stream=mid_stream,
        )
        return GenerationError(failure.message)
