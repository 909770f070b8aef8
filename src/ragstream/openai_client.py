"""The one way to reach an OpenAI-compatible server, and the one reading of its failures.

Used by the chat model (generate/llm.py), the embedder (index/openai_embed.py) and the
reranker (retrieve/rerank.py). The `openai` package is imported on first use: it takes
about a second, and offline work never needs it. Every failure becomes one line that says
what to do; the key is never part of a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ragstream.config import Settings

if TYPE_CHECKING:
    import openai

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers (Ollama, llama.cpp) accept any key; the client needs one


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: key, server and timeout, as the settings give them."""

    api_key: str | None
    base_url: str | None
    timeout: float

    @classmethod
    def of(cls, settings: Settings) -> Endpoint:
        return cls(settings.openai_api_key, settings.openai_base_url, settings.openai_timeout)

    @property
    def url(self) -> str:
        return self.base_url or OPENAI_URL

    def __repr__(self) -> str:  # never the key
        return f"Endpoint({self.url}, timeout={self.timeout:g})"


def openai_client(endpoint: Endpoint, max_retries: int) -> openai.OpenAI:
    """A client for `endpoint` (one per endpoint and retry count, reused: it pools
    connections). The client retries 429 and 5xx itself, honouring Retry-After."""
    return _client(endpoint.api_key or NO_KEY, endpoint.url, endpoint.timeout, max_retries)


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str, timeout: float, retries: int) -> openai.OpenAI:
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=retries)


@dataclass(frozen=True)
class Failure:
    message: str  # one line, naming the server and what to do
    setting: bool  # True: a setting is wrong (key, model, request); False: a passing fault


def explain(
    exc: BaseException,
    *,
    where: str,
    timeout: float,
    retries: int,
    no_model: str,
    mid_stream: bool = False,
) -> Failure:
    """What a failed request means. `where` names the server (and what used it);
    `no_model` is the whole 404 sentence, since only the caller knows which setting
    names the model."""
    import openai

    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return Failure(
            f"{where} rejected the API key ({exc.status_code}): check OPENAI_API_KEY or "
            "OPENAI_API_KEY_FILE",
            True,
        )
    if isinstance(exc, openai.NotFoundError):
        return Failure(f"{where} {no_model}", True)
    if isinstance(exc, openai.RateLimitError):
        return Failure(
            f"{where} kept answering 429 (rate limit or quota) after {retries} retries: "
            "wait a minute, or check the account's quota",
            False,
        )
    if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
        return Failure(
            f"{where} did not answer within {timeout:g} s: check the server, or raise "
            "RAGSTREAM_OPENAI_TIMEOUT",
            False,
        )
    if isinstance(exc, openai.APIConnectionError) and not mid_stream:
        return Failure(
            f"cannot reach {where}: check OPENAI_BASE_URL / --base-url and that the server "
            "is running",
            False,
        )
    if isinstance(exc, openai.BadRequestError):
        return Failure(f"{where} refused the request (400): {detail(exc)}", True)
    if isinstance(exc, openai.APIStatusError):
        return Failure(f"{where} answered {exc.status_code}: {detail(exc)}", False)
    if mid_stream and isinstance(exc, openai.APIError):  # an {"error": ...} event
        return Failure(f"{where} reported an error mid-answer: {detail(exc)}: try again", False)
    if mid_stream:
        return Failure(
            f"the answer stream from {where} broke off or was malformed "
            f"({type(exc).__name__}): try again, or check the server's logs",
            False,
        )
    return Failure(f"the request to {where} failed ({type(exc).__name__}): try again", False)


def detail(exc: Any) -> str:
    """The server's own error message (not the client's "Error code: ..." wrapper), on
    one line and short."""
    body = getattr(exc, "body", None)
    text = body.get("message") if isinstance(body, dict) else None
    return " ".join(str(text or getattr(exc, "message", exc)).split())[:160]
