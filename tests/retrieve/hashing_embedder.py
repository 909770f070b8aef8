"""A tiny deterministic embedder for tests that need one but not a real model:
a hashed bag of lower-cased words, L2-normalised. Texts sharing words are close."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

WORD = re.compile(r"\w+")


class HashingEmbedder:
    name = "hashing-test"
    max_tokens = 512

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in WORD.finditer(text)]

    def count_tokens(self, text: str) -> int:
        return len(self.token_spans(text))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
