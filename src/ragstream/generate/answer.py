"""The answer generator behind `Workspace.ask`: question in, a stream of events out.

    standalone question (rewrite follow-ups) -> search -> pack prompt -> Sources
    -> LLM deltas (markers cleaned on the fly) or the extractive answer -> Done

Sources is yielded before any LLM request, so a UI shows where the answer will come
from while the model is still thinking.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ragstream.config import Settings
from ragstream.errors import GenerationError
from ragstream.generate.citations import MarkerFilter, cited_sources
from ragstream.generate.events import Delta, Done, Event, Source, Sources, Timings, Usage
from ragstream.generate.extractive import (
    NOTHING_FOUND,
    Embed,
    extractive_answer,
    not_answered,
)
from ragstream.generate.llm import ChatModel, llm_configured
from ragstream.generate.prompt import Message, Turn, as_turns, plan_prompt, user_message
from ragstream.generate.rewrite import clean_rewrite, rewrite_messages, rewrite_offline
from ragstream.generate.tokens import context_budget, counter_for
from ragstream.models import Hit
from ragstream.retrieve.abstain import abstainer

Search = Callable[[str], list[Hit]]  # query -> ranked hits (k, mode, path already bound)


def answer(
    question: str,
    history: Iterable[Any] = (),
    *,
    settings: Settings,
    search: Search,
    embed: Embed | None = None,
    model: str | None = None,
    offline: bool | None = None,
) -> Iterator[Event]:
    """Yield Sources, then Delta events, then Done (see ragstream.generate.events).

    `offline=None` uses an LLM when one is configured (a key or a base URL); `embed`
    scores sentences of offline answers (word overlap alone without it).
    """
    started = time.perf_counter()
    model = model or settings.model
    turns = as_turns(history)
    use_llm = llm_configured(settings) if offline is None else not offline
    chat = ChatModel(settings, model) if use_llm else None

    query = standalone_question(question, turns, chat)
    hits = search(query)
    budget = context_budget(model, settings.context_tokens)
    # packed with room for the "not answered" note, so the sources shown first stay the
    # ones the answer uses whatever abstention decides afterwards
    messages, sources = plan_prompt(question, hits, turns, budget, counter_for(model), False)
    retrieval_ms = _ms(started)
    yield Sources(sources=tuple(sources), query=query)
    # the documents may not answer it: say so, not guess (retrieve/abstain.py)
    answered = abstainer(settings.abstain).answers(query, hits)
    if answered:
        messages[-1] = {"role": "user", "content": user_message(question, sources)}

    text, usage, first_ms = "", None, None
    if chat is None or not sources:
        focus = question if query != question.strip() else None  # a rewritten follow-up
        if not sources:
            text = NOTHING_FOUND
        elif not answered:
            text = not_answered(sources)
        else:
            text = extractive_answer(query, sources, embed, focus)
        first_ms = _ms(started)
        yield Delta(text)
    else:
        parts: list[str] = []
        markers = MarkerFilter(len(sources))
        for piece in chat.stream(messages):
            if isinstance(piece, Usage):
                usage = piece
                continue
            shown = markers.feed(piece)
            if shown:
                first_ms = first_ms if first_ms is not None else _ms(started)
                parts.append(shown)
                yield Delta(shown)
        if shown := markers.flush():
            first_ms = first_ms if first_ms is not None else _ms(started)
            parts.append(shown)
            yield Delta(shown)
        text = "".join(parts)
    yield Done(
        answer=text,
        citations=cited_sources(text, sources),
        timings=Timings(retrieval_ms, first_ms, _ms(started)),
        offline=chat is None,
        query=query,
        usage=usage,
        model=None if chat is None else model,
        answered=answered and bool(sources),
    )


def standalone_question(question: str, history: Sequence[Turn], chat: ChatModel | None) -> str:
    """The question to retrieve for: follow-ups are rewritten from the conversation."""
    if not any(t.role == "user" for t in history):
        return question.strip()
    if chat is None:
        return rewrite_offline(question, history)
    try:
        return clean_rewrite(chat.complete(rewrite_messages(question, history)), question)
    except GenerationError:  # e.g. a model that refuses the request's options: still answer
        return rewrite_offline(question, history)


def prompt_messages(
    question: str,
    history: Iterable[Any] = (),
    *,
    settings: Settings,
    search: Search,
    model: str | None = None,
) -> tuple[list[Message], list[Source]]:
    """The messages `answer` would send, without sending anything (offline rewrite)."""
    model = model or settings.model
    turns = as_turns(history)
    query = standalone_question(question, turns, None)
    hits = search(query)
    answered = abstainer(settings.abstain).answers(query, hits)
    budget = context_budget(model, settings.context_tokens)
    return plan_prompt(question, hits, turns, budget, counter_for(model), answered)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
