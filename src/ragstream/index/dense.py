"""Top-k cosine search over a float32 matrix held in memory, fast on a small CPU.

Reading a 50k x 384 float32 matrix for every query is memory-bound (~5 ms on two cores
here, ~11 on one). So large matrices are searched in two passes: an int8 copy (a quarter
of the bytes) is scored by onnxruntime's integer product (~1 ms on one core) to pick
`candidates(k)` rows, and those rows alone are rescored in float32. The scores returned
are the exact float32 cosines; the int8 pass only decides which rows get rescored, and
with a candidate list 8x deeper than k its rounding error (at most ~0.02 in cosine,
measured on random unit vectors) can only swap rows whose cosines nearly tie.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

# MatMulInteger(uint8 queries = int8 + 128, int8 vectors transposed) -> int32 (see
# scripts/make_int8_scorer.py).
# Kept beside this module, not in models/ (the image ships models/ as its own layer).
INT8_SCORER = Path(__file__).parent / "int8_scores.onnx"
# Below this many rows the float32 product is already fast: search exactly in one pass.
MIN_ROWS_FOR_INT8 = 4096


def candidates(k: int) -> int:
    """How many int8 candidates to rescore for a top-k search."""
    return max(8 * k, 256)


class DenseIndex:
    """`top_k(query, k, mask)` -> (row indices, cosine scores), best first."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors
        self._int8_t: np.ndarray | None = None
        self._shift = np.zeros(0, dtype=np.int32)
        if vectors.shape[0] >= MIN_ROWS_FOR_INT8:
            # One scale for the whole matrix: unit vectors' components are all in [-1, 1],
            # so mapping the largest magnitude to 127 keeps every row's precision alike.
            peak = float(np.abs(vectors).max()) or 1.0
            int8 = np.rint(vectors * (127.0 / peak)).astype(np.int8)
            self._int8_t = np.ascontiguousarray(int8.T)
            self._shift = row_shift(int8)

    def top_k(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self.vectors.shape[0]
        k = min(k, n)
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if self._int8_t is None or candidates(k) >= n:
            rows = np.arange(n)
            scores = self.vectors @ query
        else:
            coarse = _int8_scores(self._int8_t, self._shift, query)
            if mask is not None:
                coarse = np.where(mask, coarse, np.iinfo(np.int32).min)
            keep = candidates(k)  # the highest int8 scores (negating int32 min overflows)
            rows = np.argpartition(coarse, n - keep)[n - keep :]
            scores = self.vectors[rows] @ query
        if mask is not None:
            scores = np.where(mask[rows], scores, -np.inf)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        best = best[np.isfinite(scores[best])]
        return rows[best], scores[best]


def _int8_scores(vectors_t: np.ndarray, shift: np.ndarray, query: np.ndarray) -> np.ndarray:
    peak = float(np.abs(query).max()) or 1.0
    quantised = np.rint(query * (127.0 / peak)).astype(np.int8).reshape(1, -1)
    return int8_product(quantised, vectors_t, shift)[0]


def row_shift(rows: np.ndarray) -> np.ndarray:
    """What `int8_product` takes back out per int8 row: 128 * the row's sum (worth
    computing once for vectors searched many times)."""
    return 128 * rows.sum(axis=1, dtype=np.int32)


def int8_product(queries: np.ndarray, vectors_t: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """int8 queries (n x dim) times int8 vectors (dim x rows) -> int32, on one thread;
    `shift` is `row_shift` of the vectors (rows x dim).

    The scorer takes the queries as uint8 (int8 + 128; a zero-point input was ~6x
    slower), so 128 * each row's sum comes back out here. Also ColBERT's MaxSim
    (retrieve/rerank_onnx.py): on a busy machine a float32 product through numpy's
    multi-threaded BLAS took ~70 ms where this takes a few."""
    shifted = (queries.astype(np.int16) + 128).astype(np.uint8)
    raw = _scorer().run(None, {"queries": shifted, "vectors_t": vectors_t})[0]
    return np.asarray(raw) - shift[None, :]


_session: ort.InferenceSession | None = None
_session_lock = threading.Lock()


def _scorer() -> ort.InferenceSession:
    """One shared session: a single thread, so a keyword search can use the other core."""
    global _session
    with _session_lock:
        if _session is None:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            _session = ort.InferenceSession(
                str(INT8_SCORER), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _session
