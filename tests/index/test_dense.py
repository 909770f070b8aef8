"""The two-pass dense search returns what an exact float32 scan returns."""

from __future__ import annotations

import numpy as np
import pytest

from ragstream.index.dense import MIN_ROWS_FOR_INT8, DenseIndex


def unit_rows(rng: np.random.Generator, n: int, dim: int = 384) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def exact(vectors: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None = None):
    scores = vectors @ query
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    order = np.argsort(-scores, kind="stable")[:k]
    order = order[np.isfinite(scores[order])]
    return order, scores[order]


def near(rng: np.random.Generator, vectors: np.ndarray, row: int, noise: float) -> np.ndarray:
    query = vectors[row] + noise * rng.standard_normal(vectors.shape[1]).astype(np.float32)
    return query / np.linalg.norm(query)


@pytest.mark.parametrize("k", [1, 10, 50])
def test_large_matrix_matches_the_exact_scan(k: int) -> None:
    rng = np.random.default_rng(1)
    vectors = unit_rows(rng, 20_000)
    index = DenseIndex(vectors)
    assert index._int8_t is not None  # the two-pass path is the one under test
    for n in range(20):
        query = near(rng, vectors, n * 997, noise=0.08) if n % 2 else unit_rows(rng, 1)[0]
        rows, scores = index.top_k(query, k)
        want_rows, want_scores = exact(vectors, query, k)
        assert rows.tolist() == want_rows.tolist()
        np.testing.assert_allclose(scores, want_scores, rtol=0, atol=1e-6)


def test_clustered_rows_keep_the_exact_scores() -> None:
    """Near-duplicates (many close scores) are the int8 pass's hardest case."""
    rng = np.random.default_rng(2)
    centres = unit_rows(rng, 200)
    vectors = centres.repeat(50, axis=0) + 0.05 * unit_rows(rng, 10_000)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex(vectors)
    for n in range(20):
        query = near(rng, centres, n * 7, noise=0.03)
        rows, scores = index.top_k(query, 50)
        _, want_scores = exact(vectors, query, 50)
        np.testing.assert_allclose(scores, vectors[rows] @ query, atol=1e-6)  # exact values
        np.testing.assert_allclose(scores, want_scores, rtol=0, atol=1e-3)  # ties may swap


def test_mask_keeps_only_allowed_rows() -> None:
    rng = np.random.default_rng(3)
    vectors = unit_rows(rng, 12_000)
    mask = np.zeros(len(vectors), dtype=bool)
    mask[::40] = True  # 300 rows, fewer than the candidate list
    index = DenseIndex(vectors)
    query = near(rng, vectors, 7, noise=0.1)  # its nearest row is masked out
    rows, scores = index.top_k(query, 20, mask)
    want_rows, want_scores = exact(vectors, query, 20, mask)
    assert rows.tolist() == want_rows.tolist()
    assert mask[rows].all()
    np.testing.assert_allclose(scores, want_scores, atol=1e-6)
    rows, _ = index.top_k(query, 500, mask)
    assert len(rows) == 300  # never a masked row, even when k exceeds what passes


@pytest.mark.parametrize("n", [0, 3, MIN_ROWS_FOR_INT8 - 1])
def test_small_matrices_are_scanned_exactly(n: int) -> None:
    rng = np.random.default_rng(4)
    vectors = unit_rows(rng, n) if n else np.zeros((0, 384), dtype=np.float32)
    index = DenseIndex(vectors)
    assert index._int8_t is None
    query = unit_rows(rng, 1)[0]
    rows, scores = index.top_k(query, 10)
    want_rows, want_scores = exact(vectors, query, 10)
    assert rows.tolist() == want_rows.tolist()
    np.testing.assert_allclose(scores, want_scores, atol=1e-6)
