"""ColBERT passage token vectors as stored bytes: int8 per component, one scale per token.

Stored at ingest (`reranker = "colbert"`), they let a question be reranked by encoding
only the question (32 tokens) and taking MaxSim over the stored vectors, instead of
encoding every candidate passage at query time (seconds per question on 2 cores).

Layout, little-endian: a format byte (1), uint16 tokens, uint16 dim, float16 scale per
token, then int8 components row by row. Each token vector is L2-normalised, so its
components lie in [-1, 1]; scale = max |component| / 127 keeps the rounding error per
component under scale / 2 (< 0.004). 384 dims cost 386 bytes per token, a quarter of
float32; bench/colbert_stored.py measures what that does to rankings (largest score
change 0.003 on the FAQ sets, nDCG@10 within 0.004 of float32).
"""

from __future__ import annotations

import struct

import numpy as np

from ragstream.errors import StoreError

FORMAT = 1
HEADER = struct.Struct("<BHH")


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scale per token, float32 holding float16 values; int8 components), tokens x dim."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"token vectors must be 2-d (tokens x dim), got shape {vectors.shape}")
    peak = np.abs(vectors).max(axis=1) if len(vectors) else np.zeros(0, np.float32)
    scale = (np.maximum(peak, 1e-8) / 127.0).astype(np.float16).astype(np.float32)
    values = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return scale, values


def encode(vectors: np.ndarray) -> bytes:
    """One passage's token vectors (tokens x dim, float) as stored bytes."""
    scale, values = quantise(vectors)
    n, dim = values.shape
    return HEADER.pack(FORMAT, n, dim) + scale.astype("<f2").tobytes() + values.tobytes()


def decode(blob: bytes) -> np.ndarray:
    """The token vectors (tokens x dim, float32) that `encode` stored."""
    scale, values = split(blob)
    return values.astype(np.float32) * scale[:, None]


def split(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """What `quantise` gave, read back from stored bytes (the int8 part is not copied)."""
    if len(blob) < HEADER.size:
        raise StoreError("stored ColBERT token vectors are truncated; re-ingest the document")
    version, n, dim = HEADER.unpack_from(blob)
    if version != FORMAT or len(blob) != HEADER.size + n * 2 + n * dim:
        raise StoreError(
            f"stored ColBERT token vectors have format {version} and {len(blob)} bytes, "
            f"expected format {FORMAT} for {n}x{dim}: re-ingest the document"
        )
    scale = np.frombuffer(blob, dtype="<f2", count=n, offset=HEADER.size).astype(np.float32)
    values = np.frombuffer(blob, dtype=np.int8, count=n * dim, offset=HEADER.size + 2 * n)
    return scale, values.reshape(n, dim)
