"""Pure parts of the API: the error table, the OpenAI message split, upload statuses."""

from __future__ import annotations

import pytest

from ragstream.api.errors import library_error
from ragstream.api.openai_compat import ChatMessage, footer, split_messages, strip_footer
from ragstream.api.service import refusal_status
from ragstream.errors import (
    ConfigError,
    EmbedderMismatch,
    GenerationError,
    LoaderError,
    RagstreamError,
    StoreError,
)
from ragstream.generate.events import Source


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (GenerationError("llm down"), 503, "llm_unavailable"),
        (StoreError("locked"), 503, "store_unavailable"),
        (EmbedderMismatch("other model"), 409, "index_mismatch"),
        (LoaderError("a.pdf: broken"), 400, "bad_document"),
        (ConfigError("k=0"), 400, "bad_setting"),
        (RagstreamError("other"), 400, "bad_request"),
    ],
)
def test_library_errors_map_to_statuses(error: RagstreamError, status: int, code: str) -> None:
    api = library_error(error)
    assert (api.status, api.code, api.message) == (status, code, str(error))


def test_split_messages_takes_the_last_user_message_and_the_turns_before() -> None:
    shown = footer((Source(1, "a.pdf", 2, None, "text", 1.0, "c1"),))
    messages = [
        ChatMessage(role="system", content="be brief"),
        ChatMessage(role="user", content="first?"),
        ChatMessage(role="assistant", content="One [1]." + shown),
        ChatMessage(role="tool", content="ignored"),
        ChatMessage(role="user", content=[{"type": "text", "text": "and then?"}]),  # type: ignore[list-item]
        ChatMessage(role="assistant", content="(prefill, ignored)"),
    ]
    question, history = split_messages(messages)
    assert question == "and then?"
    assert history == [
        {"role": "user", "content": "first?"},
        {"role": "assistant", "content": "One [1]."},
    ]
    assert shown == "\n\nSources:\n[1] a.pdf p.2"


def test_strip_footer_leaves_other_text_alone() -> None:
    assert strip_footer("See Sources:\n[1] below") == "See Sources:\n[1] below"
    assert strip_footer('A [1].\n\nSources:\n[1] x.md\n[2] y.md § "T"') == "A [1]."


@pytest.mark.parametrize(
    ("name", "size", "status"),
    [("a.exe", 10, 415), ("a", 10, 415), ("a.pdf", 2_000_000, 413), ("a.pdf", 0, 400)],
)
def test_refusal_status(name: str, size: int, status: int) -> None:
    assert refusal_status(name, size, 1_048_576) == status
