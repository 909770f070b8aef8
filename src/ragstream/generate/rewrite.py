"""Follow-up questions become standalone questions before retrieval.

"and how long does it take?" retrieves nothing useful on its own. With an LLM, the
model rewrites it from the conversation; offline, a question that looks like a
follow-up is combined with the previous user question (both feed BM25 and the dense
query, so the topic words of the earlier question do the retrieving).
"""

from __future__ import annotations

from collections.abc import Sequence

from ragstream.generate.prompt import Message, Turn
from ragstream.text import ANAPHORA, STOPWORDS, content_words, words

FOLLOW_UP_OPENERS = ("and", "but", "also", "so", "then", "what about", "how about", "why")
# words a question needs no topic for: "how long does it take", "what else"
VAGUE_WORDS = frozenset(["long", "much", "many", "take", "more", "else", "other", "again", "too"])
FOLLOW_UP_STOPWORDS = STOPWORDS | VAGUE_WORDS
MIN_OWN_CONTENT_WORDS = 3  # a question with this many topic words stands on its own

REWRITE_SYSTEM = (
    "Rewrite the user's last question as one standalone question that can be understood "
    "without the conversation: resolve pronouns and add the topic from earlier turns. "
    "Keep the language. Reply with the question only."
)


def looks_like_follow_up(question: str) -> bool:
    lowered = " ".join(words(question))
    if any(lowered == o or lowered.startswith(o + " ") for o in FOLLOW_UP_OPENERS):
        return True
    if any(w in ANAPHORA for w in words(question)):
        return True
    return len(content_words(question, FOLLOW_UP_STOPWORDS)) < MIN_OWN_CONTENT_WORDS


def previous_question(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        if turn.role == "user" and turn.content.strip():
            return turn.content.strip()
    return None


def rewrite_offline(question: str, history: Sequence[Turn]) -> str:
    """The question to retrieve for, without an LLM."""
    previous = previous_question(history)
    if previous is None or not looks_like_follow_up(question):
        return question.strip()
    return f"{previous} {question.strip()}"


def rewrite_messages(question: str, history: Sequence[Turn]) -> list[Message]:
    """Messages asking an LLM for the standalone question."""
    conversation = "\n".join(f"{t.role}: {t.content.strip()}" for t in history[-6:])
    return [
        {"role": "system", "content": REWRITE_SYSTEM},
        {"role": "user", "content": f"Conversation:\n{conversation}\n\nLast question: {question}"},
    ]


def clean_rewrite(reply: str, question: str) -> str:
    """The model's reply as a question; falls back to `question` if it is unusable."""
    line = reply.strip().strip('"').splitlines()[0].strip() if reply.strip() else ""
    return line if 0 < len(line) <= 500 else question.strip()
