"""Retrieval evaluation on a BEIR-layout data set: metrics (pure), loading, rankings.

Layout: `corpus.jsonl` ({"_id", "title", "text"}), `queries.jsonl` ({"_id", "text"}),
`qrels/test.tsv` (header `query-id corpus-id score`). Each corpus document is ingested
with its id as the "path"; a query's chunk hits become a document ranking (first hit of
each document counts). Every query is retrieved once per retriever; the modes and fusion
variants are then computed from the same candidate lists with the retriever's own
ranking code, so "hybrid" here is exactly what `Workspace.search` returns. The run
itself (a throw-away workspace) is `ragstream.commands.evaluate.evaluate_dataset`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragstream.config import RETRIEVAL_MODES
from ragstream.errors import ConfigError
from ragstream.models import Section
from ragstream.retrieve.fusion import Candidates
from ragstream.retrieve.retriever import Retriever

Qrels = dict[str, dict[str, int]]  # query id -> {doc id: graded relevance}
MODES = RETRIEVAL_MODES


# --- metrics (pure) -------------------------------------------------------------------
def ndcg_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gains (as BEIR's pytrec_eval computes it)."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranking[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    for i, d in enumerate(ranking[:k]):
        if relevant.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def metric_names(k: int) -> list[str]:
    return [f"nDCG@{k}", "Recall@5", f"Recall@{k}", f"MRR@{k}"]


def score_run(run: Mapping[str, Sequence[str]], qrels: Qrels, k: int = 10) -> dict[str, float]:
    """Mean metrics over the queries of `run` that have judgements."""
    judged = [q for q in run if any(g > 0 for g in qrels.get(q, {}).values())]
    if not judged:
        return dict.fromkeys(metric_names(k), 0.0)
    functions: list[tuple[Callable[..., float], int]] = [
        (ndcg_at, k), (recall_at, 5), (recall_at, k), (mrr_at, k)
    ]  # fmt: skip
    return {
        name: sum(fn(run[q], qrels[q], cut) for q in judged) / len(judged)
        for name, (fn, cut) in zip(metric_names(k), functions, strict=True)
    }


def documents_of(candidates: Candidates, doc_of_chunk: Mapping[str, str]) -> list[str]:
    """Chunk ranking -> document ranking, each document at its best chunk's place."""
    seen: dict[str, None] = {}
    for cid, _ in candidates:
        if cid in doc_of_chunk:
            seen.setdefault(doc_of_chunk[cid], None)
    return list(seen)


# --- data set -------------------------------------------------------------------------
@dataclass
class BeirDataset:
    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]
    qrels: Qrels = field(default_factory=dict)

    def documents(self) -> Iterable[tuple[str, list[Section]]]:
        for doc_id, (title, text) in self.corpus.items():
            yield doc_id, [Section(text=f"{title}\n\n{text}" if title else text)]


def load_beir(directory: Path, split: str = "test") -> BeirDataset:
    """Read a BEIR-layout directory; problems name the file and the line."""
    corpus = {
        row["_id"]: (str(row.get("title") or ""), str(row["text"]))
        for row in _jsonl(directory / "corpus.jsonl", ("_id", "text"))
    }
    queries = {
        row["_id"]: str(row["text"]) for row in _jsonl(directory / "queries.jsonl", ("_id", "text"))
    }
    qrels_path = directory / "qrels" / f"{split}.tsv"
    qrels: Qrels = {}
    try:
        lines = qrels_path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(
            f"{qrels_path}: cannot read ({exc.strerror}); expected a BEIR qrels file"
        ) from None
    for number, line in enumerate(lines[1:], start=2):  # line 1 is the header
        parts = line.split("\t")
        if not line.strip():
            continue
        if len(parts) != 3 or not parts[2].strip().lstrip("-").isdigit():
            raise ConfigError(f"{qrels_path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score'")
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    if not corpus or not queries:
        raise ConfigError(f"{directory}: corpus.jsonl and queries.jsonl must not be empty")
    return BeirDataset(directory.name, corpus, queries, qrels)


def _jsonl(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read ({exc.strerror}); expected a BEIR data set"
        ) from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or any(key not in row for key in required):
            raise ConfigError(f"{path}:{number}: each line needs the fields {', '.join(required)}")
        row["_id"] = str(row["_id"])
        rows.append(row)
    return rows


# --- the run ----------------------------------------------------------------------------
def collect_candidates(
    retriever: Retriever, queries: Mapping[str, str], depth: int = 50
) -> tuple[dict[str, dict[str, Candidates]], dict[str, str]]:
    """Per query, each retriever's candidate list; and chunk id -> document id."""
    lists = {qid: retriever.candidates(text, "hybrid", depth) for qid, text in queries.items()}
    ids = {cid for per_query in lists.values() for cands in per_query.values() for cid, _ in cands}
    doc_of_chunk = {c.id: c.path for c in retriever.store.chunks(sorted(ids))}
    return lists, doc_of_chunk


def rankings(
    lists: Mapping[str, Mapping[str, Candidates]],
    doc_of_chunk: Mapping[str, str],
    rank: Callable[[Mapping[str, Candidates]], Candidates],
    mode: str,
) -> dict[str, list[str]]:
    """Document rankings per query for one mode ("bm25", "dense", or fused by `rank`)."""
    runs = {}
    for qid, per_query in lists.items():
        chosen = per_query.get(mode, []) if mode in ("bm25", "dense") else rank(per_query)
        runs[qid] = documents_of(chosen, doc_of_chunk)
    return runs
