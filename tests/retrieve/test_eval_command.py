"""`ragstream eval` end to end on a tiny BEIR set with known answers, real embedder.

q5 ("update my login credentials") shares no word with its answer ("change your
password"), so BM25 misses it and scores 4/5; dense and hybrid find all five.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragstream.cli import cli

TINY = Path(__file__).parents[1] / "data" / "beir-tiny"


@pytest.fixture(scope="module")
def result() -> dict:
    run = CliRunner().invoke(cli, ["eval", str(TINY), "--json"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    return json.loads(run.output)


def test_known_answers(result: dict) -> None:
    assert (result["documents"], result["queries"]) == (8, 5)
    assert result["failed_documents"] == []
    assert result["modes"]["bm25"] == {
        "nDCG@10": 0.8,
        "Recall@5": 0.8,
        "Recall@10": 0.8,
        "MRR@10": 0.8,
    }
    for mode in ("dense", "hybrid"):
        assert result["modes"][mode]["Recall@5"] == 1.0
        assert result["modes"][mode]["MRR@10"] == 1.0


def test_fusion_variants_are_shown(result: dict) -> None:
    assert result["default_fusion"] in result["fusions"]
    assert result["fusions"][result["default_fusion"]] == result["modes"]["hybrid"]
    assert {"rrf", "zscore"} <= set(result["fusions"])


def test_table_output_and_mode_choice() -> None:
    run = CliRunner().invoke(
        cli, ["eval", str(TINY), "--modes", "bm25", "--no-fusions", "--k", "5"]
    )
    assert run.exit_code == 0, run.output
    assert "nDCG@5" in run.output and "bm25" in run.output and "hybrid" not in run.output


def test_bad_modes_and_bad_dataset(tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["eval", str(TINY), "--modes", "bm25,fuzzy"])
    assert run.exit_code == 2 and "--modes" in run.output
    (tmp_path / "queries.jsonl").write_text('{"_id": "q", "text": "x"}\n', encoding="utf-8")
    run = CliRunner().invoke(cli, ["eval", str(tmp_path)])
    assert run.exit_code == 1
    assert "corpus.jsonl: cannot read" in str(run.exception)


def test_default_pipeline_and_rerankers_with_abstention_and_latency() -> None:
    run = CliRunner().invoke(
        cli,
        ["eval", str(TINY), "--json", "--no-fusions", "--reranker", "colbert,cross-encoder,none"],
        catch_exceptions=False,
    )
    assert run.exit_code == 0, run.output
    result = json.loads(run.output)
    modes, pipelines = result["modes"], result["pipelines"]
    assert {"default", "hybrid+colbert", "hybrid+cross-encoder", "hybrid+none"} <= set(modes)
    assert modes["hybrid+none"] == modes["hybrid"]  # no reranker: the first stage as is
    assert pipelines["default"]["reranker"] == "colbert"  # what `ask` runs by default
    assert modes["default"] == modes["hybrid+colbert"]
    for label in ("hybrid+colbert", "hybrid+cross-encoder"):
        assert modes[label]["Recall@5"] == 1.0
        assert pipelines[label]["rerank_ms_p50"] > 0
    assert pipelines["hybrid+none"]["rerank_ms_p50"] == 0
    for p in pipelines.values():
        rates = p["abstention"]
        assert set(rates) == {"answerable abstained", "unanswerable abstained"}
        assert all(0 <= v <= 1 for v in rates.values())
        assert p["abstain_ms_p50"] > 0  # the cross-encoder read the top hits (abstain=auto)


def test_several_embedders_give_one_run_each() -> None:
    run = CliRunner().invoke(
        cli,
        ["eval", str(TINY), "--json", "--no-fusions", "--embedder", "builtin,builtin",
         "--reranker", "none"],
        catch_exceptions=False,
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    runs = json.loads(run.output)["runs"]
    assert len(runs) == 2 and runs[0]["modes"] == runs[1]["modes"]
