"""Candidate abstention signals per FAQ question, answerable and unanswerable (cached).

    python bench/abstain_features.py [LIMIT]  # -> bench/results/cache/abstain_features.json

For each question of faq-en and faq-sv, the default pipeline (`embedder = "auto"`: the
builtin embedder + ColBERT reranking on English, multilingual-e5 and no reranker on
Swedish) ranks the corpus with its answer (answerable) and without it (unanswerable:
the answer's chunks dropped from the candidate lists, then reranked as `ask` does). For
the top hits it records what a signal could read: first-stage scores (dense cosine,
BM25) and each retriever's top chunk, ColBERT's MaxSim over the top 30 and, for the top
5, its best similarity per query token, the cross-encoder's logit and the question's
word coverage. bench/eval_abstain.py tries signals and fits the model from this file
without running a model again.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from ragstream.config import load_settings
from ragstream.retrieve.abstain import coverage
from ragstream.retrieve.evaluate import collect_candidates, load_beir
from ragstream.retrieve.rerank import fuse
from ragstream.retrieve.rerank_onnx import (
    QUERY_TOKENS,
    ColbertReranker,
    CrossEncoderReranker,
    model_dir,
)
from ragstream.workspace import Workspace

HERE = Path(__file__).parent
SETS = ("faq-en", "faq-sv")
TOP = 5  # hits whose cross-encoder logit, coverage and per-token similarities are kept
DEEP = 30  # hits whose ColBERT MaxSim is kept (the ColBERT recipe's depth)
OUT = HERE / "results" / "cache" / "abstain_features.json"


def r(x: float) -> float:
    return round(float(x), 4)


class Scores:
    """One question's model scores by chunk id, computed once for both versions."""

    def __init__(self, question: str, q: np.ndarray, vectors: dict[str, np.ndarray]) -> None:
        self.question, self.q, self.vectors = question, q, vectors
        self.pipeline: dict[str, float] = {}  # the configured reranker's (ColBERT, stored)
        self.cross: dict[str, float] = {}
        self.maxsim: dict[str, float] = {}  # ColBERT, float32 vectors: every language
        self.per_token: dict[str, list[float]] = {}

    def colbert(self, cid: str, tokens: int) -> float:
        if cid not in self.maxsim:
            sims = (self.q @ self.vectors[cid].T).max(axis=1)
            self.maxsim[cid] = float(sims.mean())
            # [CLS], [unused0], the question's tokens, [SEP] (the [MASK] padding left out)
            self.per_token[cid] = [r(x) for x in sims[: 3 + tokens]]
        return self.maxsim[cid]


def features(name: str, limit: int | None) -> list[dict[str, Any]]:
    dataset = load_beir(HERE / "data" / name)
    queries = dict(list(dataset.queries.items())[:limit])
    cross, colbert = CrossEncoderReranker(), ColbertReranker()
    pieces = Tokenizer.from_file(str(model_dir("colbert") / "tokenizer.json"))
    pieces.no_padding()  # the file pads to 512
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ragstream-bench-") as tmp:
        settings = load_settings({}).replace(workspace=Path(tmp), database_url=None)
        with Workspace.open(settings) as ws:
            ws.add_documents(dataset.documents())
            retriever = ws.retriever
            lists, doc_of = collect_candidates(retriever, queries, 50)
            ids = sorted(doc_of)
            chunk_of = {c.id: c for c in retriever.store.chunks(ids)}
            texts = [_text(chunk_of[c]) for c in ids]  # the FAQ is small: encode it all
            vectors = dict(zip(ids, colbert.encode_passages(texts), strict=True))
            for number, (qid, question) in enumerate(queries.items()):
                relevant = set(dataset.qrels.get(qid, {}))
                encoded = pieces.encode(question, add_special_tokens=False).ids
                tokens = [pieces.id_to_token(i) for i in encoded][: QUERY_TOKENS - 3]
                scores = Scores(question, colbert.encode_query(question), vectors)
                fused = retriever.rank(lists[qid])
                for scenario, drop in (("answerable", set()), ("unanswerable", relevant)):
                    kept = {
                        n: [c for c in cands if doc_of.get(c[0]) not in drop]
                        for n, cands in lists[qid].items()
                    }
                    ranking = [c for c in fused if doc_of.get(c[0]) not in drop]
                    if retriever.reranker is not None:  # as Retriever.search reranks
                        head = ranking[: retriever.rerank_depth]
                        missing = [cid for cid, _ in head if cid not in scores.pipeline]
                        got = retriever.reranker.rerank(question, [chunk_of[c] for c in missing])
                        scores.pipeline.update(zip(missing, got, strict=True))
                        values = [scores.pipeline[c] for c, _ in head]
                        ranking = fuse(head, values, retriever.rerank_weight) + ranking[len(head) :]
                    top = [cid for cid, _ in ranking[:DEEP]]
                    missing = [c for c in top[:TOP] if c not in scores.cross]
                    started = time.perf_counter()
                    got = cross.rerank(question, [chunk_of[c] for c in missing])
                    scores.cross.update(zip(missing, got, strict=True))
                    cross_ms = (time.perf_counter() - started) * 1000 if missing else 0.0
                    dense, bm25 = dict(kept.get("dense", [])), dict(kept.get("bm25", []))
                    answer_rank = next(
                        (i for i, c in enumerate(top) if doc_of.get(c) in relevant), None
                    )
                    first = {
                        n: doc_of.get(cands[0][0]) if cands else None for n, cands in kept.items()
                    }
                    rows.append(
                        {
                            "qid": qid,
                            "number": number,
                            "scenario": scenario,
                            "question": question,
                            "answer_rank": answer_rank,  # in `top`; None: not in the top 30
                            "top_is_answer": answer_rank == 0,
                            "docs": [doc_of.get(c) for c in top[:10]],
                            "fused": [r(s) for _, s in ranking[:10]],
                            "dense": [r(dense.get(c, -1.0)) for c in top[:10]],
                            "bm25": [r(bm25.get(c, 0.0)) for c in top[:10]],
                            "dense_top": [r(s) for _, s in kept.get("dense", [])[:10]],
                            "bm25_top": [r(s) for _, s in kept.get("bm25", [])[:10]],
                            "dense_first": first.get("dense"),
                            "bm25_first": first.get("bm25"),
                            "colbert": [r(scores.colbert(c, len(tokens))) for c in top],
                            "cross": [r(scores.cross[c]) for c in top[:TOP]],
                            "cross_ms": round(cross_ms, 1),
                            "coverage": [
                                r(coverage(question, _text(chunk_of[c]))) for c in top[:TOP]
                            ],
                            "tokens": tokens,
                            "per_token": [scores.per_token[c] for c in top[:TOP]],
                        }
                    )
                if number % 50 == 0:
                    print(name, number, file=sys.stderr, flush=True)
    return rows


def _text(chunk: Any) -> str:
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else None
    data: dict[str, Any] = {}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for name in SETS:  # written after each set, so a long run can be read early
        data[name] = features(name, limit)
        OUT.write_text(json.dumps(data) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
