"""Offline answers: the best sentences of the retrieved passages, each with its [n].

Sentences are scored against the question by meaning (the workspace's embedder, when
given) and by shared topic words weighted by rarity; near-duplicates are dropped; the
chosen sentences are shown in reading order (by source, then position), so the answer
reads as a short paragraph rather than a ranked list of fragments.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ragstream.generate.events import Source
from ragstream.text import SENTENCE_END, content_words

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised rows

MAX_SENTENCES = 4
MAX_CANDIDATES = 200  # sentences considered at all (word overlap is cheap)
MAX_EMBEDDED = 24  # of those, embedded: the embedder dominates an offline answer's time
RELATIVE_FLOOR = 0.5  # drop sentences scoring under half the best one
DUPLICATE_JACCARD = 0.6
DENSE_WEIGHT = 0.6
FOCUS_WEIGHT = 0.7  # follow-ups: the new question matters more than the one before
MIN_WORDS, MAX_WORDS = 4, 80

MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|[-*+•]\s+|\d+[.)]\s+|>\s*)")
BULLET = re.compile(r"^\s*[-*+•]\s+")
CLOSING = ".!?"
HEADING_WORDS = 8

OFFLINE_NOTE = (
    "No LLM was used: the sentences above are quoted from your documents. For a written "
    "answer set OPENAI_API_KEY (or OPENAI_API_KEY_FILE), or point --base-url / "
    "OPENAI_BASE_URL at an OpenAI-compatible server (vLLM, Ollama, llama.cpp)."
)
NOTHING_FOUND = (
    "No passage in the workspace matches this question. Ingest documents with "
    "`ragstream ingest DIR`, or ask with other words."
)

NOT_ANSWERED = "The documents do not answer this question."


def not_answered(sources: Sequence[Source]) -> str:
    """The one-line abstention, then the closest passages, marked as not answers."""
    closest = "\n".join(f"- {s.label}" for s in sources[:3])
    return f"{NOT_ANSWERED}\n\nClosest passages (closest, not answers):\n{closest}"


@dataclass(frozen=True)
class Sentence:
    text: str
    source: int  # the Source's n
    position: int  # order within the source
    score: float = 0.0


SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"),
    ("ing", ""), ("ed", ""), ("s", ""),
)  # fmt: skip


def stem(word: str) -> str:
    """A crude English stem, enough to match "containers"/"container", "takes"/"take"."""
    for suffix, replacement in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + replacement
    return word


def terms(text: str) -> set[str]:
    """Stemmed topic words, plus adjacent pairs run together ("roll back" ~ "rollback")."""
    found = content_words(text)  # "long" and "take" count here: "how long..."
    return {stem(w) for w in found} | {stem(a + b) for a, b in itertools.pairwise(found)}


def paragraphs(text: str) -> list[str]:
    """Text as paragraphs: wrapped lines (PDF, Markdown) joined, headings left out.

    A paragraph ends at a blank line, before a list item and at a heading: a `#` line,
    or a short line without closing punctuation that starts where a paragraph may start.
    """
    found: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            found.append(" ".join(current))
            current.clear()

    for raw in text.splitlines():
        line = MARKUP.sub("", raw).strip()
        ended = not current or current[-1][-1] in CLOSING
        if not line or raw.lstrip().startswith("#"):
            close()
        elif BULLET.match(raw):  # a list item, which may wrap onto the next lines
            close()
            current.append(line)
        elif ended and len(line.split()) <= HEADING_WORDS and line[-1] not in CLOSING + ",;:":
            close()  # a heading ("Rollback", "3. Releasing a new version")
        else:
            current.append(line)
    close()
    return found


def split_sentences(source: Source) -> list[Sentence]:
    found: list[Sentence] = []
    for paragraph in paragraphs(source.text):
        for piece in SENTENCE_END.split(paragraph):
            piece = piece.strip()
            if MIN_WORDS <= len(piece.split()) <= MAX_WORDS:
                found.append(Sentence(piece, source.n, len(found)))
    return found


def overlap_scores(question: str, sentences: Sequence[Sentence], focus: str | None) -> np.ndarray:
    """Share of the question's topic words each sentence contains, rare words weighing more."""
    query = terms(question) | (terms(focus) if focus else set())
    sentence_terms = [terms(s.text) for s in sentences]
    df: dict[str, int] = {}
    for ts in sentence_terms:
        for t in ts:
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log(1 + len(sentences) / df.get(t, 0.5)) for t in query}
    total = sum(idf.values()) or 1.0
    return np.array([sum(idf[t] for t in query & ts) / total for ts in sentence_terms])


def score_sentences(
    question: str, sentences: Sequence[Sentence], embed: Embed | None, focus: str | None = None
) -> list[Sentence]:
    """The sentences with scores: word overlap blended with cosine similarity.

    Only the MAX_EMBEDDED best by overlap (ties: source rank, then position) are embedded,
    which bounds the offline answer's cost. `focus` is the user's own follow-up ("and how
    long does it take?") when `question` is its standalone form: meaning is then judged
    mostly against the follow-up.
    """
    overlap = overlap_scores(question, sentences, focus)
    scored = [
        Sentence(s.text, s.source, s.position, float(o))
        for s, o in zip(sentences, overlap, strict=True)
    ]
    if embed is None:
        return scored
    scored = sorted(scored, key=lambda s: (-s.score, s.source, s.position))[:MAX_EMBEDDED]
    queries = [question] if not focus else [focus, question]
    vectors = embed([*queries, *(s.text for s in scored)])
    cosine = vectors[len(queries) :] @ vectors[: len(queries)].T
    meaning = (
        cosine[:, 0]
        if not focus
        else FOCUS_WEIGHT * cosine[:, 0] + (1 - FOCUS_WEIGHT) * cosine[:, 1]
    )
    return [
        Sentence(
            s.text, s.source, s.position, DENSE_WEIGHT * float(m) + (1 - DENSE_WEIGHT) * s.score
        )
        for s, m in zip(scored, meaning, strict=True)
    ]


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def select_sentences(
    question: str,
    sources: Sequence[Source],
    embed: Embed | None = None,
    max_sentences: int = MAX_SENTENCES,
    focus: str | None = None,
) -> list[Sentence]:
    """The best few non-redundant sentences, in reading order."""
    candidates = [s for source in sources for s in split_sentences(source)][:MAX_CANDIDATES]
    if not candidates:
        return []
    ranked = sorted(
        score_sentences(question, candidates, embed, focus),
        key=lambda s: (-s.score, s.source, s.position),
    )
    best = ranked[0].score
    chosen: list[Sentence] = []
    for sentence in ranked:
        if len(chosen) == max_sentences or (chosen and sentence.score < RELATIVE_FLOOR * best):
            break
        words = set(sentence.text.lower().split())
        if any(jaccard(words, set(c.text.lower().split())) > DUPLICATE_JACCARD for c in chosen):
            continue
        chosen.append(sentence)
    return sorted(chosen, key=lambda s: (s.source, s.position))


def compose(sentences: Sequence[Sentence]) -> str:
    """One paragraph, each sentence closed and followed by its citation."""
    parts = []
    for s in sentences:
        text = s.text if s.text[-1] in ".!?" else s.text + "."
        parts.append(f"{text[:-1]} [{s.source}]{text[-1]}")
    return " ".join(parts)


def extractive_answer(
    question: str, sources: Sequence[Source], embed: Embed | None = None, focus: str | None = None
) -> str:
    """The whole offline answer, including the line that says no LLM was used."""
    sentences = select_sentences(question, sources, embed, focus=focus)
    if not sentences:
        if not sources:
            return NOTHING_FOUND
        # passages too short to split (titles, table cells): quote the best one whole
        first = sources[0]
        sentences = [Sentence(" ".join(first.text.split())[:400], first.n, 0)]
    return f"{compose(sentences)}\n\n{OFFLINE_NOTE}"
