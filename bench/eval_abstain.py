"""Abstention of the default pipeline (hybrid, no reranker) on the FAQ sets.

    python bench/eval_abstain.py         # -> bench/results/eval_abstain.json (~3 min)

Each FAQ question is asked against the corpus with its answer (answerable) and without
it (unanswerable: its answer's chunks are dropped from the candidate lists, as in
`ragstream.retrieve.evaluate_rerank`). The signal is what `ask` reads by default: the
best dense cosine among the top-5 hits (`abstain.top_signals`). The bar is chosen on
the odd-numbered English questions so that at most 5% of answerable ones abstain, and
reported on the even-numbered ones of both languages, next to the shipped bar.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ragstream.config import load_settings
from ragstream.retrieve.abstain import THRESHOLDS, top_signals
from ragstream.retrieve.evaluate import collect_candidates, load_beir
from ragstream.workspace import Workspace

HERE = Path(__file__).parent
SETS = ("faq-en", "faq-sv")
BUDGET = 0.05
TOP_K = 5


def signals(name: str) -> dict[str, np.ndarray]:
    """Best dense cosine of the top-5 hybrid hits: answerable and unanswerable, per query."""
    dataset = load_beir(HERE / "data" / name)
    with tempfile.TemporaryDirectory(prefix="ragstream-bench-") as tmp:
        settings = load_settings({}).replace(workspace=Path(tmp), database_url=None)
        with Workspace.open(settings) as ws:
            ws.add_documents(dataset.documents())
            lists, doc_of = collect_candidates(ws.retriever, dataset.queries, 50)
            rank = ws.retriever.rank
    out: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for qid in dataset.queries:
        relevant = set(dataset.qrels.get(qid, {}))
        for scenario, drop in (("answerable", set()), ("unanswerable", relevant)):
            kept = {
                n: [c for c in cands if doc_of.get(c[0]) not in drop]
                for n, cands in lists[qid].items()
            }
            top = [cid for cid, _ in rank(kept)[:TOP_K]]
            out[scenario].append(top_signals(top, kept, {}, "none").get("dense", -1.0))
    return {k: np.array(v) for k, v in out.items()}


def rates(values: dict[str, np.ndarray], rows: slice, bar: float) -> dict[str, float]:
    return {f"{s} abstained": round(float(np.mean(v[rows] < bar)), 4) for s, v in values.items()}


def main() -> None:
    data = {name: signals(name) for name in SETS}
    dev, test = slice(1, None, 2), slice(0, None, 2)  # odd-numbered / even-numbered queries
    answerable_dev = np.sort(data["faq-en"]["answerable"][dev])
    chosen = float(answerable_dev[int(BUDGET * len(answerable_dev))])
    result: dict[str, Any] = {
        "command": "python bench/eval_abstain.py",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "signal": "best dense cosine of the top-5 hybrid hits (builtin embedder)",
        "bar chosen on dev en (<= 5% answerable abstain)": round(chosen, 4),
        "shipped bar": THRESHOLDS["dense"],
    }
    for label, bar in (("chosen", chosen), ("shipped", THRESHOLDS["dense"])):
        result[label] = {
            f"{n} {h}": rates(v, rows, bar)
            for n, v in data.items()
            for h, rows in (("dev", dev), ("test", test))
        }
    result["quantiles"] = {
        f"{n} {s}": [round(float(q), 3) for q in np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])]
        for n, per in data.items()
        for s, v in per.items()
    }
    out = HERE / "results" / "eval_abstain.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
