"""Offline answers: sentence selection, dedupe, order, citations, the no-LLM note."""

from __future__ import annotations

import numpy as np

from ragstream.generate.extractive import (
    NOTHING_FOUND,
    OFFLINE_NOTE,
    compose,
    extractive_answer,
    paragraphs,
    select_sentences,
    split_sentences,
    terms,
)
from tests.generate.factories import source

DEPLOY = source(
    1,
    "# Start script\n"
    "The start script pulls the newest image from the registry. When the container already "
    "exists, the start script stops it and removes it before starting a fresh one. It then "
    "waits for the health check to pass.\n\n"
    "- Logs go to journald.",
    title="Start script",
)
TIMING = source(2, "The whole restart usually takes about forty seconds on a small instance.")
KEYS = source(3, "Rotate the API key every ninety days. Store the new key in the parameter store.")
DUPLICATE = source(
    4,
    "When the container already exists, the start script stops it and removes it before starting a fresh one!",
)
QUESTION = "What does the start script do when the container already exists?"


def test_split_drops_markup_and_fragments() -> None:
    texts = [s.text for s in split_sentences(DEPLOY)]
    assert texts[0] == "The start script pulls the newest image from the registry."
    assert "Logs go to journald." in texts
    assert not any(t.startswith(("#", "-")) or t == "Start script" for t in texts)


def test_best_sentence_is_chosen_and_unrelated_ones_are_not() -> None:
    chosen = select_sentences(QUESTION, [DEPLOY, TIMING, KEYS])
    texts = [s.text for s in chosen]
    assert any("already exists" in t for t in texts)
    assert not any("ninety days" in t for t in texts)
    assert len(chosen) <= 4


def test_near_duplicates_are_dropped() -> None:
    chosen = select_sentences(QUESTION, [DEPLOY, DUPLICATE])
    assert sum("already exists" in s.text for s in chosen) == 1


def test_reading_order_is_by_source_then_position() -> None:
    chosen = select_sentences("start script image health check container", [TIMING, DEPLOY])
    keys = [(s.source, s.position) for s in chosen]
    assert keys == sorted(keys)


def test_embedding_scores_change_the_choice() -> None:
    # an embedder that finds the timing sentence closest, whatever the words say
    def embed(texts: list[str]) -> np.ndarray:
        rows = [
            [1.0, 0.0] if i == 0 or "forty seconds" in t else [0.0, 1.0]
            for i, t in enumerate(texts)
        ]
        return np.array(rows, dtype=np.float32)

    chosen = select_sentences("how long?", [DEPLOY, TIMING], embed=embed)
    assert chosen[0].text.startswith("The whole restart usually takes")


def test_answer_cites_every_sentence_and_says_no_llm_was_used() -> None:
    text = extractive_answer(QUESTION, [DEPLOY, TIMING, KEYS])
    body, note = text.split("\n\n")
    assert note == OFFLINE_NOTE and "OPENAI_API_KEY" in note and "--base-url" in note
    assert "stops it and removes it before starting a fresh one [1]." in body
    assert body.count("[") == body.count(" [")  # each sentence ends with its marker


def test_compose_closes_sentences_before_the_period() -> None:
    chosen = select_sentences("journald logs", [DEPLOY])
    assert "Logs go to journald [1]." in compose(chosen)


def test_nothing_to_say() -> None:
    assert extractive_answer(QUESTION, []) == NOTHING_FOUND
    tiny = source(1, "Start script")
    assert extractive_answer(QUESTION, [tiny]).startswith("Start script [1].")


def test_wrapped_lines_are_joined_and_headings_left_out() -> None:
    pdf_page = (
        "3. Releasing a new version\n"
        "A release builds the image and pushes it. The previous\n"
        "image stays on the host.\n"
        "Rollback\n"
        "If answers get slow, run the rollback. It starts the previous image again,\n"
        "usually in under a minute.\n"
        "- Logs go to journald\n"
        "- Metrics go to the dashboard"
    )
    assert paragraphs(pdf_page) == [
        "A release builds the image and pushes it. The previous image stays on the host.",
        "If answers get slow, run the rollback. It starts the previous image again, usually in "
        "under a minute.",
        "Logs go to journald",
        "Metrics go to the dashboard",
    ]


def test_words_written_apart_match_their_compound() -> None:
    assert "rollback" in terms("How do I roll back?")
    assert terms("the rollback command") & terms("roll back a release")
