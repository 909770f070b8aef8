"""Prompt assembly: numbered context packed to a token budget, plus the conversation.

The same messages go to the LLM and, rendered as text, to `--prompt-only` users who
paste them into any chat tool.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ragstream.errors import GenerationError
from ragstream.generate.events import Source
from ragstream.generate.tokens import TokenCounter
from ragstream.models import Hit

SYSTEM_PROMPT = (
    "You answer questions about the user's documents using only the numbered context "
    "passages given with the question. Cite the passage behind every statement with its "
    "number in square brackets, like [1] or [2][3], right after the statement. Use only "
    "numbers that appear in the context. If the context does not contain the answer, say "
    'so in one line instead of guessing ("The documents do not answer this.") and list '
    "the closest passages as closest, not answers. Answer in the language of the "
    "question, concisely."
)
UNANSWERED_NOTE = (
    "Note: retrieval found no passage that clearly answers this question. Unless one does, "
    "say that the documents do not answer it and list the closest passages as closest, "
    "not answers."
)
MIN_PASSAGE_TOKENS = 48  # a passage cut shorter than this is more noise than help
HISTORY_TURNS = 6  # the last three exchanges are enough to resolve a follow-up
HISTORY_TURN_CHARS = 4000  # an earlier turn is cut to this before its tokens are counted
HISTORY_SHARE = 0.25  # at most this part of the budget goes to earlier turns

Role = Literal["user", "assistant"]
Message = dict[str, str]


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str


def as_turns(history: Iterable[Any]) -> list[Turn]:
    """The last HISTORY_TURNS turns, each cut to HISTORY_TURN_CHARS: a long conversation
    costs no more per answer than a short one. Accepts Turn objects, (role, content)
    pairs or {"role", "content"} dicts."""
    turns = []
    for item in deque(history, maxlen=HISTORY_TURNS):
        if isinstance(item, Turn):
            role, content = item.role, item.content
        else:
            role, content = (item["role"], item["content"]) if isinstance(item, dict) else item
        if role not in ("user", "assistant"):
            raise GenerationError(f"history role {role!r} is not 'user' or 'assistant'")
        turns.append(Turn(role, str(content)[:HISTORY_TURN_CHARS]))
    return turns


def passage(source: Source) -> str:
    return f"[{source.n}] {source.label}\n{source.text.strip()}"


def pack_context(hits: Sequence[Hit], budget: int, counter: TokenCounter) -> list[Source]:
    """Number hits in rank order while they fit `budget` tokens.

    A passage that does not fit is cut to the room left if that is at least
    MIN_PASSAGE_TOKENS, else skipped (a shorter one further down may still fit).
    """
    sources: list[Source] = []
    left = budget
    for hit in hits:
        if left < MIN_PASSAGE_TOKENS:
            break
        source = Source.from_hit(len(sources) + 1, hit)
        cost = counter.count(passage(source)) + 2  # the blank line between passages
        if cost > left:
            header = counter.count(passage(Source.from_hit(source.n, hit, text=""))) + 2
            room = left - header
            if room < MIN_PASSAGE_TOKENS:
                continue
            source = Source.from_hit(source.n, hit, text=counter.truncate(hit.chunk.text, room))
            cost = counter.count(passage(source)) + 2
        sources.append(source)
        left -= cost
    return sources


def user_message(question: str, sources: Sequence[Source], answered: bool = True) -> str:
    context = "\n\n".join(passage(s) for s in sources) or "(no passages were found)"
    note = "" if answered else f"\n\n{UNANSWERED_NOTE}"
    return f"Context:\n\n{context}{note}\n\nQuestion: {question}"


def fit_history(turns: Sequence[Turn], budget: int, counter: TokenCounter) -> list[Turn]:
    """The most recent turns that fit `budget` tokens, oldest first."""
    kept: list[Turn] = []
    for turn in reversed(turns[-HISTORY_TURNS:]):
        budget -= counter.count(turn.content) + 4
        if budget < 0:
            break
        kept.append(turn)
    return kept[::-1]


def plan_prompt(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Turn],
    budget: int,
    counter: TokenCounter,
    answered: bool = True,
) -> tuple[list[Message], list[Source]]:
    """The chat messages for `question` and the numbered sources they contain
    (`answered=False`: retrieval judged that no passage answers; the prompt says so)."""
    turns = fit_history(history, int(budget * HISTORY_SHARE), counter)
    fixed = counter.count(SYSTEM_PROMPT) + counter.count(user_message(question, [], answered))
    fixed += sum(counter.count(t.content) + 4 for t in turns) + 12  # role framing
    sources = pack_context(hits, budget - fixed, counter)
    messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += [{"role": t.role, "content": t.content} for t in turns]
    messages.append({"role": "user", "content": user_message(question, sources, answered)})
    return messages, sources


def render_prompt(messages: Sequence[Message]) -> str:
    """Messages as one text to paste into a chat tool."""
    headings = {"system": "Instructions", "user": "User", "assistant": "Assistant"}
    parts = [f"### {headings[m['role']]}\n\n{m['content']}" for m in messages]
    return "\n\n".join(parts) + "\n"
