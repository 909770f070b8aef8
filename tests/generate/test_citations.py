"""Citation markers: valid, out of range, repeated; and the streaming filter."""

from __future__ import annotations

import pytest

from ragstream.generate.citations import MarkerFilter, cited_numbers, cited_sources, clean_markers
from tests.generate.factories import source

SOURCES = [
    source(1, "a", "docs/runbook.pdf", page=7),
    source(2, "b", "notes/deploy.md", title="Start script"),
    source(3, "c", "notes/keys.md"),
]


def test_labels_name_the_page_or_the_section() -> None:
    assert [s.label for s in SOURCES] == [
        "docs/runbook.pdf p.7",
        'notes/deploy.md § "Start script"',
        "notes/keys.md",
    ]


def test_valid_markers_map_to_their_sources_in_order_of_first_use() -> None:
    text = "It stops the container [2]. Then it pulls [1] and waits [2]."
    assert cited_numbers(text, 3) == [2, 1]
    assert [s.path for s in cited_sources(text, SOURCES)] == ["notes/deploy.md", "docs/runbook.pdf"]


def test_out_of_range_markers_are_dropped_with_their_space() -> None:
    assert clean_markers("Alpha [4]. Beta [0] and gamma [1].", 3) == "Alpha. Beta and gamma [1]."
    assert cited_numbers("Alpha [4] [0] [1]", 3) == [1]


def test_grouped_markers_keep_only_valid_numbers_once() -> None:
    assert clean_markers("Both [1, 9, 1, 3].", 3) == "Both [1, 3]."
    assert cited_numbers("Both [1, 9, 1, 3]. Again [3][3].", 3) == [1, 3]


def test_repeated_marker_is_one_citation() -> None:
    assert [s.n for s in cited_sources("x [2] y [2] z [2]", SOURCES)] == [2]


def test_text_that_is_not_a_marker_is_untouched() -> None:
    text = "Use arr[i] and [see below] or [1a]; version [2024."
    assert clean_markers(text, 3) == text
    assert cited_numbers(text, 3) == []


@pytest.mark.parametrize(
    "deltas",
    [
        ["Stops it [", "2", "]. Pulls [", "7]. Done [1, ", "5]."],
        ["Stops it [2]. Pulls [7]. Done [1, 5]."],
        list("Stops it [2]. Pulls [7]. Done [1, 5]."),  # one character per delta
    ],
)
def test_stream_filter_matches_the_whole_text_result(deltas: list[str]) -> None:
    markers = MarkerFilter(3)
    shown = [markers.feed(d) for d in deltas] + [markers.flush()]
    assert "".join(shown) == "Stops it [2]. Pulls. Done [1]."


def test_stream_filter_holds_back_only_a_possible_marker() -> None:
    markers = MarkerFilter(3)
    assert markers.feed("The script ") == "The script"  # trailing space may precede a marker
    assert markers.feed("stops [") == " stops"
    assert markers.feed("12") == ""
    assert markers.feed("] it.") == " it."
    assert markers.flush() == ""
