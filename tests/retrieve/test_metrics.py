"""Evaluation metrics and the BEIR reader: hand-computed values, no I/O beyond tmp files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ragstream.errors import ConfigError
from ragstream.retrieve.evaluate import (
    documents_of,
    load_beir,
    mrr_at,
    ndcg_at,
    recall_at,
    score_run,
)


def test_ndcg_by_hand() -> None:
    rels = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b", "x"], rels, 10) == pytest.approx(1.0)
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(["b", "x", "a"], rels, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(["x", "b", "a"], rels, 1) == 0.0
    assert ndcg_at(["a"], {}, 10) == 0.0


def test_recall_and_mrr_by_hand() -> None:
    rels = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["x", "a", "c"], rels, 5) == 0.5
    assert recall_at(["x", "y", "a"], rels, 2) == 0.0
    assert mrr_at(["c", "x", "b"], rels, 10) == pytest.approx(1 / 3)
    assert mrr_at(["c", "x", "b"], rels, 2) == 0.0


def test_score_run_averages_over_judged_queries_only() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    run = {"q1": ["a"], "q2": ["x", "b"], "q3": ["c"], "q4": ["a"]}
    scores = score_run(run, qrels, 10)
    assert scores["MRR@10"] == pytest.approx((1 + 0.5) / 2)
    assert scores["Recall@5"] == 1.0
    assert set(scores) == {"nDCG@10", "Recall@5", "Recall@10", "MRR@10"}


def test_documents_of_keeps_each_document_at_its_best_chunk() -> None:
    doc_of = {"c1": "d1", "c2": "d2", "c3": "d1", "c4": "d3"}
    ranked = [("c3", 0.9), ("c2", 0.8), ("c1", 0.7), ("gone", 0.6), ("c4", 0.5)]
    assert documents_of(ranked, doc_of) == ["d1", "d2", "d3"]


def write(tmp_path: Path, corpus: str, queries: str, qrels: str) -> Path:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    (tmp_path / "queries.jsonl").write_text(queries, encoding="utf-8")
    (tmp_path / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    return tmp_path


def test_load_beir(tmp_path: Path) -> None:
    data = load_beir(
        write(
            tmp_path,
            '{"_id": 1, "title": "T", "text": "body"}\n\n{"_id": "2", "text": "two"}\n',
            '{"_id": "q", "text": "question"}\n',
            "query-id\tcorpus-id\tscore\nq\t1\t2\n",
        )
    )
    assert data.corpus == {"1": ("T", "body"), "2": ("", "two")}
    assert data.qrels == {"q": {"1": 2}}
    assert [(d, s[0].text) for d, s in data.documents()] == [("1", "T\n\nbody"), ("2", "two")]


@pytest.mark.parametrize(
    ("corpus", "qrels", "message"),
    [
        (
            '{"_id": "1"}\n',
            "h\nq\t1\t1\n",
            r"corpus\.jsonl:1: each line needs the fields _id, text",
        ),
        ("not json\n", "h\nq\t1\t1\n", r"corpus\.jsonl:1: not valid JSON"),
        ('{"_id": "1", "text": "t"}\n', "h\nq 1 1\n", r"test\.tsv:2: expected"),
    ],
)
def test_bad_files_name_file_and_line(
    tmp_path: Path, corpus: str, qrels: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_beir(write(tmp_path, corpus, '{"_id": "q", "text": "x"}\n', qrels))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"corpus\.jsonl: cannot read"):
        load_beir(tmp_path)
