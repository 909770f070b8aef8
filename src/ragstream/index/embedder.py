"""The embedder interface and the factory that picks a backend from a setting.

Backends live one per file (`onnx.py`, `openai_embed.py`). The chosen embedder's `name`
and `dim` are written into the index, so a reopened index refuses a different one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Tokenizer(Protocol):
    """What the chunker needs: token boundaries as character offsets."""

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of each token of `text`, special tokens excluded."""
        ...

    def count_tokens(self, text: str) -> int: ...


@runtime_checkable
class Embedder(Tokenizer, Protocol):
    name: str  # identifies the weights, e.g. "all-MiniLM-L6-v2-int8"
    dim: int
    max_tokens: int  # longest input the model sees; longer text is truncated

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of `texts`, shape (len(texts), dim), float32, L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One query's embedding, shape (dim,), float32, L2-normalised."""
        ...


def create_embedder(spec: str, **options: object) -> Embedder:
    """`builtin` (the packaged MiniLM int8 ONNX), `multilingual` (multilingual-e5-small),
    a local model dir, a Hugging Face id, or `openai:<model>`."""
    if spec.startswith("openai:"):
        from ragstream.index.openai_embed import OpenAIEmbedder

        return OpenAIEmbedder(spec.removeprefix("openai:"), **options)  # type: ignore[arg-type]
    from ragstream.index.onnx import OnnxEmbedder

    return OnnxEmbedder.from_spec(spec)
