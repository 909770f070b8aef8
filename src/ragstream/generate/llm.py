"""The LLM behind answers: any server that speaks OpenAI's Chat Completions API.

Uses the official `openai` client (imported on first use: it takes ~1 s to import, and
offline answers never need it). The client retries 429 and 5xx itself with exponential
backoff that honours Retry-After (bounded by MAX_RETRIES); every failure leaves here as
one GenerationError line that says what to do. The key is never part of a message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ragstream.config import Settings
from ragstream.errors import GenerationError
from ragstream.generate.events import Usage

if TYPE_CHECKING:
    import openai

MAX_RETRIES = 3
OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers (Ollama, llama.cpp) accept any key; the client needs one


def llm_configured(settings: Settings) -> bool:
    """An LLM is used when a key or a server URL is set; otherwise answers are extractive."""
    return bool(settings.openai_api_key or settings.openai_base_url)


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout: float, retries: int) -> openai.OpenAI:
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=retries)


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
        self.url = settings.openai_base_url or OPENAI_URL
        self.timeout = settings.openai_timeout
        self._client = _client(
            settings.openai_api_key or NO_KEY, settings.openai_base_url, self.timeout, max_retries
        )

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
        import openai

        url, model = self.url, self.model
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return GenerationError(
                f"{url} rejected the API key ({exc.status_code}): check OPENAI_API_KEY or "
                "OPENAI_API_KEY_FILE"
            )
        if isinstance(exc, openai.NotFoundError):
            return GenerationError(
                f"{url} has no model {model!r} (404): pick another with --model or "
                "RAGSTREAM_MODEL, or check OPENAI_BASE_URL"
            )
        if isinstance(exc, openai.RateLimitError):
            return GenerationError(
                f"{url} kept answering 429 (rate limit or quota) after {self.max_retries} retries: "
                "wait a minute, or check the account's quota"
            )
        if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
            return GenerationError(
                f"{url} did not answer within {self.timeout:g} s: check the server, or raise "
                "RAGSTREAM_OPENAI_TIMEOUT"
            )
        if isinstance(exc, openai.APIConnectionError) and not mid_stream:
            return GenerationError(
                f"cannot reach {url}: check OPENAI_BASE_URL / --base-url and that the server "
                "is running"
            )
        if isinstance(exc, openai.APIStatusError):
            detail = " ".join(str(exc.message).split())[:160]
            return GenerationError(
                f"{url} answered {exc.status_code} for model {model!r}: {detail}"
            )
        if mid_stream and isinstance(exc, openai.APIError):  # an {"error": ...} event
            detail = " ".join(str(exc.message).split())[:160]
            return GenerationError(f"{url} reported an error mid-answer: {detail}: try again")
        if mid_stream:
            return GenerationError(
                f"the answer stream from {url} broke off or was malformed "
                f"({type(exc).__name__}): try again, or check the server's logs"
            )
        return GenerationError(f"the request to {url} failed ({type(exc).__name__}): try again")
