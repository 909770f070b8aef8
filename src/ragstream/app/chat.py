"""One question in, one streamed answer out: the UI's only consumer of `Workspace.ask`.

The event stream (Sources, Delta..., Done; see ragstream.generate.events) is split: the
text is drawn as it arrives, the sources and the final record are kept for the message
and its citation buttons.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import streamlit as st

from ragstream.app import advice, components
from ragstream.app.components import ChatOptions
from ragstream.app.state import Message, Session
from ragstream.errors import RagstreamError
from ragstream.generate.events import Delta, Done, Event, Source, Sources
from ragstream.workspace import Workspace


class AnswerStream:
    """Yields the answer's text; remembers the sources and the Done record on the way."""

    def __init__(self, events: Iterator[Event]) -> None:
        self._events = events
        self.sources: tuple[Source, ...] = ()
        self.done: Done | None = None

    def text(self) -> Iterator[str]:
        for event in self._events:
            if isinstance(event, Sources):
                self.sources = event.sources
            elif isinstance(event, Delta):
                yield event.text
            elif isinstance(event, Done):
                self.done = event


def history_for(messages: list[Message]) -> list[dict[str, str]]:
    """Earlier turns as the library takes them (prompts shown to copy are not turns)."""
    return [{"role": m.role, "content": m.content} for m in messages if not m.prompt]


def _ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def note_for(done: Done, mode: str = "") -> str:
    """The line under an answer: what answered, how it searched, how long each part took."""
    t = done.timings
    parts = ["Offline mode" if done.offline else (done.model or "LLM")]
    if mode:
        parts.append(f"{mode} retrieval")
    timing = f"search {_ms(t.retrieval_ms)}"
    if t.first_token_ms is not None and not done.offline:
        timing += f" · first token {_ms(t.first_token_ms)}"
    parts += [timing, f"total {_ms(t.total_ms)}"]
    if done.usage and not done.offline:
        parts.append(f"{done.usage.total_tokens} tokens")
    if not done.answered:  # abstained: the passages shown are the closest, not answers
        parts.append("not answered by the documents")
    return " · ".join(parts)


def answer(question: str, workspace: Workspace, options: ChatOptions, state: Session) -> bool:
    """Show the question, stream the answer, and keep both in the session's chat.

    Returns False when the library refused (the reason is shown as st.error)."""
    history = history_for(state.messages)
    state.messages.append(Message("user", question))
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        try:
            if options.prompt_only:
                prompt = workspace.prompt(question, history=history, **_search_options(options))
                message = Message("assistant", prompt, prompt=True)
                components.message_body(message)
            else:
                stream = AnswerStream(
                    workspace.ask(question, history=history, **_search_options(options))
                )
                streamed = show_streaming(stream)
                message = finished(stream, streamed, options.mode)
        except RagstreamError as exc:
            state.messages.pop()
            st.error(advice.for_page(str(exc)))
            return False
        state.messages.append(message)
        index = len(state.messages) - 1
        if message.citations:
            state.selected = (index, message.citations[0].n)  # the sources panel opens it
        # Drawn in this run, with the keys the next run uses: no rerun needed.
        components.message_footer(message, index, state)
    return True


def _search_options(options: ChatOptions) -> dict[str, Any]:
    collections = None if options.collections is None else list(options.collections)
    return {
        "k": options.top_k,
        "mode": options.mode,
        "model": options.model,
        "user": options.user,
        "collections": collections,
    }


def finished(stream: AnswerStream, streamed: str, mode: str = "") -> Message:
    done = stream.done
    if done is None:  # the stream ended early; keep what was shown
        return Message("assistant", streamed, sources=stream.sources)
    return Message(
        "assistant",
        advice.for_page(done.answer),
        sources=stream.sources,
        citations=done.citations,
        note=note_for(done, mode),
    )


def show_streaming(stream: AnswerStream) -> str:
    """Draw the answer as it arrives (a placeholder updated in place: cheaper than
    st.write_stream, whose first call costs a noticeable import on a cold server)."""
    placeholder = st.empty()
    with st.spinner("Searching your documents…"):
        deltas = stream.text()
        text = next(deltas, "")  # retrieval runs before the first text arrives
    placeholder.markdown(advice.for_page(text) + "▌")
    for delta in deltas:
        text += delta
        placeholder.markdown(advice.for_page(text) + "▌")
    placeholder.markdown(advice.for_page(text))
    return text
