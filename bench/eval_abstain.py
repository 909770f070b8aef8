"""Abstention on the FAQ sets: each signal, and the shipped model, chosen on odd questions.

    python bench/abstain_features.py     # once: model scores -> bench/results/cache/ (~5 min)
    python bench/eval_abstain.py         # -> bench/results/eval_abstain.json (seconds)
    python bench/eval_abstain.py --refit # also prints the model's coefficients for abstain.py

Each FAQ question is asked against the corpus with its answer (answerable) and without
it (unanswerable), see bench/abstain_features.py. Every bar (one signal's, or a model's
probability) is chosen on the odd-numbered English questions so that at most 5% of their
answerable versions abstain, and reported on the even-numbered ones of both languages,
with the AUC (how often an answerable version outscores an unanswerable one).

Two measurements say why no signal reaches the issue's target (>= 90% of unanswerable
questions abstain for <= 5% of answerable ones) on this set:
- `bound`: where the answer is not in the top hits even when it is in the corpus, both
  versions return the same hits, so any signal read from them decides both alike.
- `judged`: 40 unanswerable versions read by hand (bench/data/faq-en/
  unanswerable-judged.json): in many a sibling answer of the same FAQ does answer the
  question, and abstaining there would be wrong.
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
from ragstream.retrieve.evaluate import load_beir
from ragstream.text import STOPWORDS

HERE = Path(__file__).parent
CACHE = HERE / "results" / "cache" / "abstain_features.json"
JUDGED = HERE / "data" / "faq-en" / "unanswerable-judged.json"
OUT = HERE / "results" / "eval_abstain.json"
BUDGET = 0.05  # the target: at most this share of answerable questions abstain
SHIPPED_BUDGET = 0.03  # the shipped bar's share on the odd half: a margin for the noise
HITS = 5  # what `ask` reads (top_k)
Row = dict[str, Any]


def row_features(row: Row) -> dict[str, float]:
    """What abstain.features sees, from the cached top hits of one question."""
    return abstain.features(row["cross"][: abstain.CHECKED], row["coverage"][: abstain.CHECKED])


def content_token_sims(row: Row, hit: int) -> list[float]:
    """ColBERT's best similarity per content word of the question in hit `hit` (word
    pieces averaged; stopwords and numbers dropped): an asked-about word no passage
    token matches ("cost", "long") should show as a low value."""
    tokens, sims = row["tokens"], row["per_token"][hit][2 : 2 + len(row["tokens"])]
    words: list[tuple[str, list[float]]] = []
    for token, sim in zip(tokens, sims, strict=False):
        if token.startswith("##") and words:
            words[-1] = (words[-1][0] + token[2:], [*words[-1][1], sim])
        else:
            words.append((token, [sim]))
    kept = [float(np.mean(s)) for w, s in words if w.isalpha() and w not in STOPWORDS]
    return kept or [float(np.mean(s)) for _, s in words] or [1.0]


def _margin(values: Sequence[float]) -> float:
    ordered = sorted(values, reverse=True)
    return ordered[0] - ordered[1] if len(ordered) > 1 else 0.0


def _dense_hits(row: Row) -> list[float]:
    return [d for d in row["dense"][:HITS] if d > -1] or [-1.0]


SIGNALS: dict[str, Callable[[Row], float]] = {
    "dense cosine, best": lambda r: max(r["dense_top"], default=-1.0),
    "dense, top 1 minus mean of top 10": lambda r: r["dense_top"][0] - np.mean(r["dense_top"]),
    "dense, top 1 minus top 2": lambda r: _margin(r["dense_top"]),
    "dense, best hit minus mean of the 5 hits": lambda r: (
        max(_dense_hits(r)) - float(np.mean(_dense_hits(r)))
    ),
    "BM25, best": lambda r: max(r["bm25_top"], default=0.0),
    "BM25, (top 1 - top 2) / top 1": lambda r: (
        _margin(r["bm25_top"]) / max(r["bm25_top"][0], 1e-6) if r["bm25_top"] else 0.0
    ),
    "agreement: BM25, dense and the pipeline share the top hit": lambda r: float(
        r["bm25_first"] == r["dense_first"] == r["docs"][0]
    ),
    "cross-encoder logit, top 1": lambda r: r["cross"][0],
    "cross-encoder logit, best of top 2": lambda r: max(r["cross"][:2]),
    "cross-encoder logit, best of top 5": lambda r: max(r["cross"]),
    "cross-encoder, top 1 minus top 2 (sorted, of 5)": lambda r: _margin(r["cross"]),
    "ColBERT MaxSim, top 1": lambda r: r["colbert"][0],
    "ColBERT MaxSim, top 1 minus top 2 (sorted, of 30)": lambda r: _margin(r["colbert"]),
    "ColBERT MaxSim, best minus mean of top 10": lambda r: (
        max(r["colbert"]) - float(np.mean(sorted(r["colbert"], reverse=True)[:10]))
    ),
    "ColBERT per content word, min, top 1": lambda r: min(content_token_sims(r, 0)),
    "ColBERT per content word, lower quartile, top 1": lambda r: float(
        np.quantile(content_token_sims(r, 0), 0.25)
    ),
    "ColBERT per content word, min, best of top 2": lambda r: max(
        min(content_token_sims(r, i)) for i in range(2)
    ),
    "coverage, best of top 5": lambda r: max(r["coverage"]),
    "model (abstain.py)": lambda r: abstain.probability(row_features(r)),
}
RICH = [n for n in SIGNALS if n != "model (abstain.py)"]  # the richer model's inputs


def split(rows: Sequence[Row]) -> dict[str, list[Row]]:
    return {s: [r for r in rows if r["scenario"] == s] for s in ("answerable", "unanswerable")}


def halves(rows: Sequence[Row], parity: int) -> list[Row]:
    return [r for r in rows if r["number"] % 2 == parity]


def bar_for(values: Sequence[float], budget: float = BUDGET) -> float:
    """The lowest bar that keeps at most `budget` of `values` (answerable) below it."""
    ordered = np.sort(np.asarray(values))
    return float(ordered[int(budget * len(ordered))])


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    p, n = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def rates(rows: Sequence[Row], signal: Callable[[Row], float], bar: float) -> dict[str, Any]:
    parts = {s: [signal(r) for r in chosen] for s, chosen in split(rows).items()}
    out: dict[str, Any] = {
        f"{s} abstained": round(float(np.mean(np.asarray(v) < bar)), 3) for s, v in parts.items()
    }
    out["AUC"] = round(auc(parts["answerable"], parts["unanswerable"]), 3)
    return out


def logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights (last: intercept) of a logistic regression (Newton, small L2)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ w))
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + 1e-3 * np.eye(len(w))
        w -= np.linalg.solve(hessian, design.T @ (p - y) + 1e-3 * w)
    return w


def fit(rows: Sequence[Row]) -> tuple[dict[str, float], float]:
    """The shipped model's coefficients: "answerable" on abstain.FEATURES."""
    x = np.array([[row_features(r)[f] for f in abstain.FEATURES] for r in rows])
    w = logistic(x, np.array([r["scenario"] == "answerable" for r in rows], dtype=float))
    coefficients = {f: round(float(c), 4) for f, c in zip(abstain.FEATURES, w, strict=False)}
    return coefficients, round(float(w[-1]), 4)


def rich_model(rows: Sequence[Row]) -> Callable[[Row], float]:
    """A logistic model over every signal above (standardised), fitted on `rows`: what
    all of them together can do, measured, not shipped."""
    x = np.array([[SIGNALS[n](r) for n in RICH] for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    w = logistic((x - mean) / scale, np.array([r["scenario"] == "answerable" for r in rows]))
    return lambda r: float(((np.array([SIGNALS[n](r) for n in RICH]) - mean) / scale) @ w[:-1])


def bound(rows: Sequence[Row]) -> dict[str, Any]:
    """The most unanswerable abstentions any signal read from the top HITS can reach at
    <= BUDGET answerable ones: pairs whose two versions return the same hits are decided
    alike, so all but BUDGET of them must be answered in both versions."""
    pairs: dict[str, dict[str, Row]] = {}
    for r in rows:
        pairs.setdefault(r["qid"], {})[r["scenario"]] = r
    n = len(pairs)
    same = sum(
        p["answerable"]["docs"][:HITS] == p["unanswerable"]["docs"][:HITS] for p in pairs.values()
    )
    answered_anyway = max(0, same - int(BUDGET * n))
    return {
        "questions": n,
        f"same top {HITS} with and without the answer": same,
        "best possible unanswerable abstained": round((n - answered_anyway) / n, 3),
    }


def shipped_bars(data: dict[str, list[Row]]) -> dict[tuple[str, str, str], float]:
    """The bar the shipped Abstainer uses per (set, qid, scenario): by the language of
    the question and its top CHECKED passages (abstain.language_bar), as `ask` does."""
    bars = {}
    for name, rows in data.items():
        corpus = load_beir(HERE / "data" / name).corpus
        for r in rows:
            texts = [r["question"], *(corpus[d][1] for d in r["docs"][: abstain.CHECKED])]
            bars[name, r["qid"], r["scenario"]] = abstain.language_bar(texts)
    return bars


def judged(rows: Sequence[Row], bars: dict[str, tuple[Callable[[Row], float], float]]) -> Any:
    labels: dict[str, str] = json.loads(JUDGED.read_text(encoding="utf-8"))["judged"]
    unanswerable = {r["qid"]: r for r in split(rows)["unanswerable"]}
    counts = {c: sum(v == c for v in labels.values()) for c in ("answered", "partial", "not")}
    out: dict[str, Any] = {"read by hand": counts}
    for name, (signal, bar) in bars.items():
        out[name] = {
            f"{c} abstained": f"{sum(signal(unanswerable[q]) < bar for q, v in labels.items() if v == c)}/{k}"
            for c, k in counts.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refit", action="store_true")
    args = parser.parse_args()
    data: dict[str, list[Row]] = json.loads(CACHE.read_text(encoding="utf-8"))
    dev_en = halves(data["faq-en"], 1)
    if args.refit:
        coefficients, intercept = fit(dev_en)
        abstain.COEFFICIENTS, abstain.INTERCEPT = coefficients, intercept
        answerable = [abstain.probability(row_features(r)) for r in split(dev_en)["answerable"]]
        abstain.BAR = round(bar_for(answerable, SHIPPED_BUDGET), 3)
        other = split(halves(data["faq-sv"], 1))["answerable"]
        values = [abstain.probability(row_features(r)) for r in other]
        abstain.BAR_OTHER = round(bar_for(values, SHIPPED_BUDGET), 3)
        print(f"COEFFICIENTS = {coefficients}\nINTERCEPT = {intercept}")
        print(f"BAR = {abstain.BAR}\nBAR_OTHER = {abstain.BAR_OTHER}")
    signals = dict(SIGNALS) | {"richer model: logistic over all signals above": rich_model(dev_en)}
    result: dict[str, Any] = {
        "command": "python bench/eval_abstain.py",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "budget": f"bars chosen on odd faq-en questions for <= {BUDGET:.0%} answerable abstain",
        "model": {
            "coefficients": abstain.COEFFICIENTS,
            "intercept": abstain.INTERCEPT,
            "shipped bars": {"English": abstain.BAR, "other languages": abstain.BAR_OTHER},
            "chosen": f"<= {SHIPPED_BUDGET:.0%} of answerable odd faq-en (faq-sv) questions below",
        },
        "cross_ms_p50 (top 5, per question and version, at the load of the features run)": float(
            np.median([r["cross_ms"] for rows in data.values() for r in rows if r["cross_ms"] > 0])
        ),
        "bound": {
            ds: {h: bound(halves(rows, p)) for h, p in (("odd", 1), ("even", 0))}
            for ds, rows in data.items()
        },
        "signals": {},
    }
    for name, signal in signals.items():
        bar = bar_for([signal(r) for r in split(dev_en)["answerable"]])
        result["signals"][name] = {"bar": round(bar, 4)} | {
            f"{ds} even": rates(halves(rows, 0), signal, bar) for ds, rows in data.items()
        }
    model = SIGNALS["model (abstain.py)"]
    bars = shipped_bars(data)
    english = {
        ds: float(np.mean([v == abstain.BAR for k, v in bars.items() if k[0] == ds])) for ds in data
    }
    result["shipped (bar by language, as ask decides)"] = {"share judged English": english} | {
        f"{ds} {half}": {
            f"{s} abstained": round(
                float(np.mean([model(r) < bars[ds, r["qid"], s] for r in chosen])), 3
            )
            for s, chosen in split(halves(rows, parity)).items()
        }
        for ds, rows in data.items()
        for half, parity in (("odd", 1), ("even", 0))
    }
    cross2 = SIGNALS["cross-encoder logit, best of top 2"]
    result["judged (40 even faq-en questions, unanswerable version)"] = judged(
        data["faq-en"],
        {
            f"model at the shipped bar {abstain.BAR}": (model, abstain.BAR),
            "cross-encoder best of top 2 at its 5% bar": (
                cross2,
                result["signals"]["cross-encoder logit, best of top 2"]["bar"],
            ),
        },
    )
    result["model curve (even questions)"] = {
        f"bar {bar}": {ds: rates(halves(rows, 0), model, bar) for ds, rows in data.items()}
        for bar in sorted({0.15, 0.2, 0.25, 0.3, 0.4, 0.5, abstain.BAR, abstain.BAR_OTHER})
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
