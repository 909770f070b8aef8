"""`Workspace.warm_up` (what `serve` and the API run at start): the first question finds
the offline models loaded, and warming never calls an LLM."""

from __future__ import annotations

from pathlib import Path

from ragstream.retrieve import abstain, rerank_onnx
from ragstream.workspace import Workspace


def test_warm_up_loads_the_reranker_and_the_abstention_model(tmp_path: Path) -> None:
    rerank_onnx._session.cache_clear()
    abstain.abstainer.cache_clear()
    with Workspace.open(workspace=tmp_path / "ws", embedder="builtin") as ws:
        ws.warm_up()
    loaded = rerank_onnx._session.cache_info().currsize
    assert loaded == 2, "ColBERT (the default reranker) and the cross-encoder (abstention)"


def test_warm_up_never_asks_an_llm_reranker(tmp_path: Path) -> None:
    # An LLM reranker at a closed port: warming it would fail with GenerationError.
    with Workspace.open(
        workspace=tmp_path / "ws",
        embedder="builtin",
        reranker="openai:gpt-4o-mini",
        openai_base_url="http://127.0.0.1:9/v1",
        abstain="off",
    ) as ws:
        ws.warm_up()
        assert ws.retriever.reranker is not None and ws.retriever.reranker.name == "openai"
