"""Words, stopwords, query terms and sentences: the one place text is cut into pieces.

Used by both stores (the terms keyword search looks for), the extractive answerer, the
passage highlighter and the follow-up rewriter, so they all agree on what a word and a
sentence are.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
# A sentence ends at .!? before a capital, digit or opening quote/bracket, or at a blank line.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n{2,}")

# Words that point back at something said earlier ("how long does *it* take?").
ANAPHORA = frozenset(
    [
        "it",
        "its",
        "it's",
        "this",
        "that",
        "these",
        "those",
        "they",
        "them",
        "their",
        "there",
        "he",
        "she",
        "him",
        "her",
        "one",
        "ones",
        "same",
        "such",
        "former",
        "latter",
    ]
)
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "so",
        "then",
        "also",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "at",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "how",
        "what",
        "when",
        "where",
        "why",
        "which",
        "who",
        "about",
        "i",
        "you",
        "we",
        "me",
        "my",
        "your",
        "our",
        "not",
        "no",
        "if",
        "as",
        "into",
        "than",
    ]
)
STOPWORDS = ANAPHORA | FUNCTION_WORDS  # carry no topic

# Keyword search: words that match nearly every chunk add little to BM25 but make the
# index scan everything. Both stores drop the same ones, so they rank alike.
SEARCH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "should",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)
MAX_QUERY_TERMS = 64


def words(text: str) -> list[str]:
    """Lower-cased words (letters and digits; "it's" is one word)."""
    return [w.lower() for w in WORD.findall(text)]


def content_words(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """The words that carry a topic: no stopwords, no bare numbers."""
    return [w for w in words(text) if w not in stopwords and not w.isdigit()]


def query_terms(text: str) -> list[str]:
    """The distinct words keyword search looks for (stopwords dropped unless that leaves
    nothing), at most MAX_QUERY_TERMS. `\\w+` cuts as the stores' tokenizers do."""
    found = list(dict.fromkeys(w.lower() for w in re.findall(r"\w+", text)))
    content = [w for w in found if w not in SEARCH_STOPWORDS] or found
    return content[:MAX_QUERY_TERMS]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, surrounding whitespace excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in [*SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + lead + len(stripped)))
        if match:
            start = match.end()
    return spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]
