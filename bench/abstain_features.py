"""Candidate abstention signals per FAQ question, answerable and unanswerable (cached).

    python bench/abstain_features.py     # -> bench/results/cache/abstain_features.json

For each question of faq-en and faq-sv, the default first stage (hybrid) ranks the
corpus with its answer (answerable) and without it (unanswerable: the answer's chunks
dropped from the candidate lists). For the top 3 of each ranking it records the dense
cosine, the cross-encoder logit, ColBERT's MaxSim and the question's word coverage, so
bench/eval_abstain.py can try signals and fit the model without re-running models.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ragstream.config import load_settings
from ragstream.retrieve.abstain import coverage
from ragstream.retrieve.evaluate import collect_candidates, load_beir
from ragstream.retrieve.rerank_onnx import ColbertReranker, CrossEncoderReranker
from ragstream.workspace import Workspace

HERE = Path(__file__).parent
SETS = ("faq-en", "faq-sv")
TOP = 3
OUT = HERE / "results" / "cache" / "abstain_features.json"


def features(name: str, limit: int | None) -> list[dict[str, Any]]:
    dataset = load_beir(HERE / "data" / name)
    queries = dict(list(dataset.queries.items())[:limit])
    cross, colbert = CrossEncoderReranker(), ColbertReranker()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ragstream-bench-") as tmp:
        settings = load_settings({}).replace(workspace=Path(tmp), database_url=None)
        with Workspace.open(settings) as ws:
            ws.add_documents(dataset.documents())
            lists, doc_of = collect_candidates(ws.retriever, queries, 50)
            rank, store = ws.retriever.rank, ws.retriever.store
            for number, (qid, question) in enumerate(queries.items()):
                relevant = set(dataset.qrels.get(qid, {}))
                seen: dict[tuple[str, ...], dict[str, Any]] = {}
                for scenario, drop in (("answerable", set()), ("unanswerable", relevant)):
                    kept = {
                        n: [c for c in cands if doc_of.get(c[0]) not in drop]
                        for n, cands in lists[qid].items()
                    }
                    ranked = rank(kept)
                    top = tuple(cid for cid, _ in ranked[:TOP])
                    if top not in seen:  # the answer was not in the top: same scores
                        chunks = {c.id: c for c in store.chunks(list(top))}
                        passages = [chunks[c] for c in top]
                        started = time.perf_counter()
                        ce = cross.rerank(question, passages[:3])
                        seen[top] = {
                            "cross": [round(x, 4) for x in ce],
                            "cross_ms": round((time.perf_counter() - started) * 1000, 1),
                            "colbert": [round(x, 4) for x in colbert.rerank(question, passages)],
                            "coverage": [round(coverage(question, p.text), 4) for p in passages],
                        }
                    dense = dict(kept.get("dense", []))
                    rows.append(
                        {
                            "qid": qid,
                            "number": number,
                            "scenario": scenario,
                            "top_is_answer": bool(top) and doc_of.get(top[0]) in relevant,
                            "dense": [round(dense.get(c, -1.0), 4) for c in top],
                            "dense_best5": max(
                                (dense[c] for c, _ in ranked[:5] if c in dense), default=-1.0
                            ),
                            **seen[top],
                        }
                    )
                if number % 50 == 0:
                    print(name, number, file=sys.stderr, flush=True)
    return rows


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
