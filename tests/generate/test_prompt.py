"""Token counting, per-model budgets and packing the numbered context."""

from __future__ import annotations

import pytest

from ragstream.errors import GenerationError
from ragstream.generate.prompt import (
    HISTORY_TURN_CHARS,
    HISTORY_TURNS,
    MIN_PASSAGE_TOKENS,
    SYSTEM_PROMPT,
    Turn,
    as_turns,
    pack_context,
    passage,
    plan_prompt,
    render_prompt,
)
from ragstream.generate.tokens import (
    DEFAULT_CONTEXT_TOKENS,
    MAX_CONTEXT_TOKENS,
    context_budget,
    context_window,
    counter_for,
)
from tests.generate.factories import hit

COUNTER = counter_for("gpt-4o-mini")
WORDS = "the start script stops the container and starts a new one after the health check "


def test_counts_match_openai_tokenizers_offline() -> None:
    # token ids published by tiktoken for these encodings
    assert counter_for("gpt-4o").encoding.encode_ordinary("hello world") == [24912, 2375]
    assert counter_for("gpt-4").encoding.encode_ordinary("hello world") == [15339, 1917]
    assert COUNTER.count("") == 0
    once = COUNTER.count(WORDS)
    assert once == 16  # tokens, not characters / 4 (which would say 20)
    assert 10 * once - 10 <= COUNTER.count(WORDS * 10) <= 10 * once


def test_truncate_cuts_at_a_token_boundary_and_keeps_text_valid() -> None:
    text = "Zürich café " * 50
    cut = COUNTER.truncate(text, 20)
    assert text.startswith(cut) and COUNTER.count(cut) <= 20
    assert COUNTER.truncate("short", 20) == "short"


def test_context_windows_known_configured_and_default() -> None:
    assert context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert context_window("gpt-4-0613") == 8_192
    assert context_window("gpt-4-turbo") == 128_000  # the longest prefix wins
    assert context_window("llama3.1:8b") == DEFAULT_CONTEXT_TOKENS
    assert context_window("llama3.1:8b", configured=32_768) == 32_768
    assert context_budget("gpt-4o") == MAX_CONTEXT_TOKENS
    assert context_budget("tiny", configured=2048) < 2048 - 400


def test_packing_keeps_rank_order_and_numbers_from_one() -> None:
    hits = [hit(f"passage {i}: " + WORDS, path=f"d{i}.md") for i in range(5)]
    sources = pack_context(hits, 10_000, COUNTER)
    assert [s.n for s in sources] == [1, 2, 3, 4, 5]
    assert [s.path for s in sources] == [f"d{i}.md" for i in range(5)]


@pytest.mark.parametrize("budget", [60, 150, 400, 1000])
def test_packing_never_exceeds_the_budget(budget: int) -> None:
    hits = [hit(WORDS * (3 + i), path=f"d{i}.md") for i in range(8)]
    sources = pack_context(hits, budget, COUNTER)
    used = sum(COUNTER.count(passage(s)) + 2 for s in sources)
    assert used <= budget
    assert sources, "something always fits a budget above the minimum passage size"


def test_packing_cuts_the_passage_that_does_not_fit() -> None:
    hits = [hit(WORDS * 2, path="a.md"), hit(WORDS * 40, path="b.md")]
    full_first = COUNTER.count(passage(pack_context(hits[:1], 10_000, COUNTER)[0])) + 2
    sources = pack_context(hits, full_first + 100, COUNTER)
    assert [s.path for s in sources] == ["a.md", "b.md"]
    assert sources[0].text == WORDS * 2
    assert len(sources[1].text) < len(WORDS * 40) and (WORDS * 40).startswith(sources[1].text)


def test_packing_skips_a_big_passage_when_too_little_room_but_takes_a_small_one() -> None:
    first = hit(WORDS * 3, path="a.md")
    room_after_first = COUNTER.count(passage(pack_context([first], 10_000, COUNTER)[0])) + 2
    hits = [
        first,
        hit(WORDS * 40, path="big.md"),
        hit("short fact about the start script", path="s.md"),
    ]
    sources = pack_context(hits, room_after_first + MIN_PASSAGE_TOKENS + 2, COUNTER)
    assert [s.path for s in sources] == ["a.md", "s.md"]
    assert [s.n for s in sources] == [1, 2]


def test_plan_numbers_context_in_the_last_user_message_with_history() -> None:
    history = [
        Turn("user", "What does the start script do?"),
        Turn("assistant", "It restarts [1]."),
    ]
    messages, sources = plan_prompt(
        "And how long?", [hit(WORDS, title="Start script")], history, 4000, COUNTER
    )
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == SYSTEM_PROMPT and "[1]" in SYSTEM_PROMPT
    last = messages[-1]["content"]
    assert '[1] notes/deploy.md § "Start script"\n' + WORDS.strip() in last
    assert last.endswith("Question: And how long?")
    assert len(sources) == 1
    text = render_prompt(messages)
    assert text.startswith("### Instructions\n\n") and "### Assistant\n\nIt restarts [1]." in text


def test_plan_fits_the_whole_prompt_in_a_small_budget() -> None:
    history = [Turn("user", WORDS * 30), Turn("assistant", WORDS * 30), Turn("user", "q")]
    hits = [hit(WORDS * 20, path=f"d{i}.md") for i in range(10)]
    messages, sources = plan_prompt("how long does it take?", hits, history, 1200, COUNTER)
    total = sum(COUNTER.count(m["content"]) + 4 for m in messages)
    assert total <= 1200
    assert sources


def test_history_accepts_pairs_dicts_and_turns_and_rejects_bad_roles() -> None:
    turns = as_turns([("user", "a"), {"role": "assistant", "content": "b"}, Turn("user", "c")])
    assert turns == [Turn("user", "a"), Turn("assistant", "b"), Turn("user", "c")]
    with pytest.raises(GenerationError, match="'system'"):
        as_turns([("system", "x")])


def test_a_long_conversation_is_bounded_by_turns_and_characters() -> None:
    # 206 turns (the slow conversation), one of them a pasted megabyte.
    history = [("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(205)]
    history.append(("assistant", "x" * 1_000_000))
    turns = as_turns(iter(history))  # any iterable: only the tail is kept
    assert len(turns) == HISTORY_TURNS
    assert [t.content for t in turns[:-1]] == [f"turn {i}" for i in range(200, 205)]
    assert turns[-1].content == "x" * HISTORY_TURN_CHARS
    messages, _ = plan_prompt("and then?", [], turns, 4000, COUNTER)
    assert [m["content"] for m in messages[1:-1]] == [t.content for t in turns]
