"""Follow-up questions become standalone questions, offline."""

from __future__ import annotations

import pytest

from ragstream.generate.prompt import Turn
from ragstream.generate.rewrite import (
    clean_rewrite,
    looks_like_follow_up,
    rewrite_messages,
    rewrite_offline,
)

HISTORY = [
    Turn("user", "What does the start script do when the container already exists?"),
    Turn("assistant", "It stops and removes the old container, then starts a new one [1]."),
]


@pytest.mark.parametrize(
    "follow_up",
    [
        "and how long does it take?",
        "How long does it take?",
        "what about rollback?",
        "why?",
        "Is that safe?",
    ],
)
def test_follow_ups_are_combined_with_the_previous_question(follow_up: str) -> None:
    assert looks_like_follow_up(follow_up)
    assert rewrite_offline(follow_up, HISTORY) == f"{HISTORY[0].content} {follow_up}"


@pytest.mark.parametrize(
    "question",
    [
        "How do I rotate the API key in the parameter store?",
        "Which ports does the Caddy proxy open?",
    ],
)
def test_standalone_questions_are_kept(question: str) -> None:
    assert not looks_like_follow_up(question)
    assert rewrite_offline(question, HISTORY) == question


def test_without_history_nothing_changes() -> None:
    assert rewrite_offline("  and how long?  ", []) == "and how long?"


def test_the_latest_user_question_is_used() -> None:
    history = [*HISTORY, Turn("user", "How do I rotate the API key?"), Turn("assistant", "...")]
    assert rewrite_offline("how often?", history) == "How do I rotate the API key? how often?"


def test_llm_rewrite_prompt_and_reply_cleaning() -> None:
    messages = rewrite_messages("and how long does it take?", HISTORY)
    assert "standalone" in messages[0]["content"]
    assert HISTORY[0].content in messages[1]["content"]
    assert clean_rewrite('"How long does the start script take?"\n', "x") == (
        "How long does the start script take?"
    )
    assert clean_rewrite("   ", "and how long?") == "and how long?"
