"""Unit tests (no I/O) for the passage helpers behind the sources panel."""

from __future__ import annotations

from ragstream.app.passages import (
    citation_labels,
    document_name,
    highlighted_html,
    matching_sentences,
    source_label,
    supporting_text,
)
from ragstream.generate.events import Source
from ragstream.text import sentence_spans

PASSAGE = (
    "The start script checks whether the container already exists. "
    "If it does, the script restarts it instead of creating a new one.\n\n"
    "Logs go to journald. Keys are rotated every 90 days."
)


def test_source_label_prefers_page_then_section_then_name() -> None:
    assert source_label("docs/runbook.pdf", 7) == "runbook.pdf p.7"
    assert source_label("notes/deploy.md", None, "Start script") == "deploy.md § Start script"
    assert source_label("a/b/readme.txt", None) == "readme.txt"


def test_split_sentences_gives_offsets_of_each_sentence() -> None:
    spans = sentence_spans(PASSAGE)
    sentences = [PASSAGE[s:e] for s, e in spans]
    assert sentences == [
        "The start script checks whether the container already exists.",
        "If it does, the script restarts it instead of creating a new one.",
        "Logs go to journald.",
        "Keys are rotated every 90 days.",
    ]


def test_split_sentences_keeps_abbreviation_like_lowercase_continuations() -> None:
    text = "Use e.g. the flag. Then run it."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["Use e.g. the flag.", "Then run it."]


def test_quoted_sentence_is_found_exactly() -> None:
    answer = "Keys are rotated every 90 days. [1]"
    spans = matching_sentences(PASSAGE, answer)
    assert [PASSAGE[s:e] for s, e in spans] == ["Keys are rotated every 90 days."]


def test_paraphrase_with_most_content_words_matches_and_unrelated_does_not() -> None:
    answer = "When the container already exists, the start script restarts it [1]."
    found = [PASSAGE[s:e] for s, e in matching_sentences(PASSAGE, answer)]
    assert "The start script checks whether the container already exists." in found
    assert "Logs go to journald." not in found
    assert matching_sentences(PASSAGE, "Completely different words here.") == []


def test_supporting_text_takes_the_sentences_citing_that_marker() -> None:
    answer = "Keys rotate every 90 days [2]. The script restarts containers [1]."
    assert supporting_text(answer, 1) == "The script restarts containers [1]."
    assert supporting_text(answer, 2) == "Keys rotate every 90 days [2]."
    assert supporting_text(answer, 3) == answer  # nothing cites it: use the whole answer


def test_highlighted_html_escapes_document_text_and_marks_spans() -> None:
    passage = "Run <script>alert(1)</script> now. Keys & locks rotate."
    spans = [sentence_spans(passage)[1]]
    out = highlighted_html(passage, spans)
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; now." in out
    assert out.endswith("<mark>Keys &amp; locks rotate.</mark>")


def test_citation_labels_tell_apart_what_would_read_the_same() -> None:
    def source(n: int, path: str, page: int | None, title: str | None, text: str) -> Source:
        return Source(n, path, page, title, text, 1.0, f"c{n}")

    cited = [
        source(
            1, "ws/uploads/git-rebase.md", None, None, "Interactive rebase lets you edit commits."
        ),
        source(2, "ws/uploads/git-rebase.md", None, None, "Use --onto to move a branch elsewhere."),
        source(3, "ws/uploads/git-rebase.md", None, "Abort", "git rebase --abort"),
        source(4, "docs/handbook.pdf", 2, None, "Key rotation."),
    ]
    assert citation_labels(cited) == [
        "[1] git-rebase.md · “Interactive rebase lets you…”",
        "[2] git-rebase.md · “Use --onto to move a branch…”",
        "[3] git-rebase.md § Abort",
        "[4] handbook.pdf p.2",
    ]
    assert len(set(citation_labels(cited))) == 4


def test_document_name_is_the_file_name_everywhere() -> None:
    assert document_name("ws-ui2/uploads/gpl-3.docx") == "gpl-3.docx"
    assert document_name("notes.md") == "notes.md"
