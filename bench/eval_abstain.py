"""Abstention on the FAQ sets: each signal, and the shipped model, chosen on odd questions.

    python bench/abstain_features.py     # once: model scores -> bench/results/cache/ (~20 min)
    python bench/eval_abstain.py         # -> bench/results/eval_abstain.json (seconds)
    python bench/eval_abstain.py --refit # also prints the model's coefficients for abstain.py

Each FAQ question is asked against the corpus with its answer (answerable) and without
it (unanswerable), see bench/abstain_features.py. Every bar (one signal's, or the
model's probability) is chosen on the odd-numbered English questions so that at most
5% of their answerable versions abstain, and reported on the even-numbered ones of both
languages. `clean` rows keep only the questions whose answer is the answerable top hit:
elsewhere another passage of the FAQ answers too (or retrieval missed the answer), and
no signal computed from the top hits can tell the two versions apart.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragstream.retrieve import abstain

HERE = Path(__file__).parent
CACHE = HERE / "results" / "cache" / "abstain_features.json"
OUT = HERE / "results" / "eval_abstain.json"
BUDGET = 0.05  # the target: at most this share of answerable questions abstain
SHIPPED_BUDGET = 0.03  # the shipped bar's share on the odd half: a margin for the noise
Row = dict[str, Any]


def row_features(row: Row) -> dict[str, float]:
    """What abstain.features sees, from the cached top hits of one question."""
    return abstain.features(
        row["cross"][: abstain.CHECKED], row["coverage"][: abstain.CHECKED], row["dense"][:1]
    )


SIGNALS: dict[str, Callable[[Row], float]] = {
    "dense cosine, best of top 5 (the old signal)": lambda r: r["dense_best5"],
    "cross-encoder logit, top 1": lambda r: r["cross"][0] if r["cross"] else -20.0,
    "cross-encoder logit, best of top 2": lambda r: max(r["cross"][:2], default=-20.0),
    "cross-encoder logit, best of top 3": lambda r: max(r["cross"], default=-20.0),
    "ColBERT MaxSim, best of top 3": lambda r: max(r["colbert"], default=0.0),
    "coverage, best of top 3": lambda r: max(r["coverage"][:3], default=0.0),
    "model (abstain.py)": lambda r: abstain.probability(row_features(r)),
}


def split(rows: Sequence[Row]) -> dict[str, list[Row]]:
    return {s: [r for r in rows if r["scenario"] == s] for s in ("answerable", "unanswerable")}


def halves(rows: Sequence[Row], parity: int) -> list[Row]:
    return [r for r in rows if r["number"] % 2 == parity]


def bar_for(values: np.ndarray) -> float:
    """The lowest bar that keeps at most BUDGET of `values` (answerable) below it."""
    ordered = np.sort(values)
    return float(ordered[int(BUDGET * len(ordered))])


def rates(rows: Sequence[Row], signal: Callable[[Row], float], bar: float) -> dict[str, Any]:
    parts = split(rows)
    clean = {r["qid"] for r in parts["answerable"] if r["top_is_answer"]}
    out: dict[str, Any] = {}
    for scenario, chosen in parts.items():
        below = [signal(r) < bar for r in chosen]
        out[f"{scenario} abstained"] = round(float(np.mean(below)), 3)
        kept = [b for b, r in zip(below, chosen, strict=True) if r["qid"] in clean]
        out[f"clean {scenario} abstained"] = round(float(np.mean(kept)), 3)
    return out


def fit(rows: Sequence[Row]) -> tuple[dict[str, float], float]:
    """Logistic regression (Newton, small L2) of "answerable" on abstain.FEATURES."""
    x = np.array([[row_features(r)[f] for f in abstain.FEATURES] for r in rows])
    y = np.array([r["scenario"] == "answerable" for r in rows], dtype=float)
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ w))
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + 1e-3 * np.eye(len(w))
        w -= np.linalg.solve(hessian, design.T @ (p - y) + 1e-3 * w)
    return {f: round(float(c), 4) for f, c in zip(abstain.FEATURES, w, strict=False)}, round(
        float(w[-1]), 4
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refit", action="store_true")
    args = parser.parse_args()
    data: dict[str, list[Row]] = json.loads(CACHE.read_text(encoding="utf-8"))
    dev_en = halves(data["faq-en"], 1)
    if args.refit:
        coefficients, intercept = fit(dev_en)
        abstain.COEFFICIENTS, abstain.INTERCEPT = coefficients, intercept
        answerable = np.sort(
            [abstain.probability(row_features(r)) for r in split(dev_en)["answerable"]]
        )
        abstain.BAR = round(float(answerable[int(SHIPPED_BUDGET * len(answerable))]), 3)
        print(f"COEFFICIENTS = {coefficients}\nINTERCEPT = {intercept}\nBAR = {abstain.BAR}")
    result: dict[str, Any] = {
        "command": "python bench/eval_abstain.py",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "budget": f"bars chosen on odd faq-en questions for <= {BUDGET:.0%} answerable abstain",
        "model": {
            "coefficients": abstain.COEFFICIENTS,
            "intercept": abstain.INTERCEPT,
            "shipped bar": abstain.BAR,
            "chosen": f"<= {SHIPPED_BUDGET:.0%} of answerable odd faq-en questions below it",
        },
        "cross_ms_p50 (top 3 at the load above, per question)": float(
            np.median([r["cross_ms"] for rows in data.values() for r in rows])
        ),
        "signals": {},
    }
    for name, signal in SIGNALS.items():
        bar = bar_for(np.array([signal(r) for r in split(dev_en)["answerable"]]))
        result["signals"][name] = {"bar": round(bar, 4)} | {
            f"{ds} {half}": rates(halves(rows, parity), signal, bar)
            for ds, rows in data.items()
            for half, parity in (("odd", 1), ("even", 0))
        }
    model = SIGNALS["model (abstain.py)"]
    result["model curve (even questions)"] = {
        f"bar {bar}": {ds: rates(halves(rows, 0), model, bar) for ds, rows in data.items()}
        for bar in sorted({0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, abstain.BAR})
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
