"""Chunk boundaries, offsets, overlap and stable ids (pure logic: a fake tokenizer)."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragstream.errors import LoaderError
from ragstream.index.embedder import Tokenizer
from ragstream.ingest import chunker
from ragstream.ingest.chunker import chunk_sections, pieces
from ragstream.models import Chunk, Section


class FakeWordPiece:
    """Words and punctuation are tokens; words longer than 8 characters are split into
    4-character pieces with no gap between them, as WordPiece splits rare words."""

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for match in re.finditer(r"\w+|[^\w\s]", text):
            start, end = match.span()
            if end - start <= 8:
                spans.append((start, end))
            else:
                spans.extend((i, min(i + 4, end)) for i in range(start, end, 4))
        return spans

    def count_tokens(self, text: str) -> int:
        return len(self.token_spans(text))


TOKENIZER = FakeWordPiece()


def sentence(n_words: int, word: str = "word") -> str:
    """A sentence of exactly n_words + 1 tokens (the full stop is one)."""
    return " ".join([word] * n_words) + "."


def check_invariants(
    sections: list[Section], chunks: list[Chunk], max_tokens: int, tokenizer: Tokenizer
) -> None:
    for ordinal, chunk in enumerate(chunks):
        section = sections[chunk.section_index]
        assert section.text[chunk.start : chunk.end] == chunk.text
        assert chunk.ordinal == ordinal
        assert (chunk.page, chunk.title) == (section.page, section.title)
        assert 1 <= chunk.n_tokens <= max_tokens
        inside = [s for s in tokenizer.token_spans(section.text) if chunk.start <= s[0] < chunk.end]
        assert chunk.n_tokens == len(inside) and inside[-1][1] == chunk.end
        # Re-tokenised alone, a chunk cut inside a long word may merge pieces, never add.
        assert tokenizer.count_tokens(chunk.text) <= chunk.n_tokens
    for before, after in itertools.pairwise(chunks):
        same_section = before.section_index == after.section_index
        assert same_section or before.section_index < after.section_index
        if same_section:  # advancing (no token lost: checked below)
            assert before.start < after.start and before.end < after.end
    for index, section in enumerate(sections):  # every token lands in some chunk
        covered = [(c.start, c.end) for c in chunks if c.section_index == index]
        for start, end in tokenizer.token_spans(section.text):
            assert any(a <= start and end <= b for a, b in covered)


def test_a_short_section_is_one_chunk_with_exact_offsets() -> None:
    sections = [Section("  Hello world.  ", page=4, title="Intro")]
    [chunk] = chunk_sections("docs/a.md", sections, TOKENIZER, max_tokens=10, overlap=2)
    assert (chunk.text, chunk.start, chunk.end, chunk.n_tokens) == ("Hello world.", 2, 14, 3)
    assert (chunk.path, chunk.page, chunk.title, chunk.ordinal) == ("docs/a.md", 4, "Intro", 0)


def test_empty_and_whitespace_sections_give_no_chunks() -> None:
    assert chunk_sections("a", [Section(""), Section(" \n\n ")], TOKENIZER) == []


def test_cuts_at_a_paragraph_break_before_a_sentence_end() -> None:
    # 4 sentences of 10 tokens; a paragraph break after the second.
    text = f"{sentence(9)} {sentence(9)}\n\n{sentence(9)} {sentence(9)}"
    chunks = chunk_sections("a", [Section(text)], TOKENIZER, max_tokens=35, overlap=0)
    assert [c.n_tokens for c in chunks] == [20, 20]
    assert chunks[0].text == f"{sentence(9)} {sentence(9)}"


def test_cuts_at_a_sentence_end_when_no_paragraph_fits() -> None:
    text = " ".join(sentence(9) for _ in range(6))  # 60 tokens, sentences of 10
    chunks = chunk_sections("a", [Section(text)], TOKENIZER, max_tokens=25, overlap=0)
    assert [c.n_tokens for c in chunks] == [20, 20, 20]
    assert all(c.text.endswith(".") for c in chunks)


def test_a_giant_sentence_is_cut_between_words_and_a_giant_word_between_tokens() -> None:
    words = "alpha " * 30 + "x" * 200 + " omega"  # 30 words, one 50-piece word, 1 word
    chunks = chunk_sections("a", [Section(words)], TOKENIZER, max_tokens=16, overlap=0)
    check_invariants([Section(words)], chunks, 16, TOKENIZER)
    assert chunks[0].text == " ".join(["alpha"] * 16)
    assert any(c.text == "x" * 64 for c in chunks)  # 16 pieces of 4 characters


def test_overlap_is_about_the_asked_size_and_starts_at_a_sentence() -> None:
    text = " ".join(sentence(7) for _ in range(40))  # 320 tokens, sentences of 8
    chunks = chunk_sections("a", [Section(text)], TOKENIZER, max_tokens=64, overlap=16)
    check_invariants([Section(text)], chunks, 64, TOKENIZER)
    for before, after in itertools.pairwise(chunks):
        shared = TOKENIZER.count_tokens(text[after.start : before.end])
        assert 8 <= shared <= 24
        assert text[after.start - 2 : after.start] == ". "


def test_chunks_never_span_sections() -> None:
    sections = [
        Section(" ".join(sentence(5) for _ in range(10)), page=1),
        Section("Short page.", page=2),
        Section(" ".join(sentence(5) for _ in range(10)), page=3, title="T"),
    ]
    chunks = chunk_sections("r.pdf", sections, TOKENIZER, max_tokens=20, overlap=4)
    check_invariants(sections, chunks, 20, TOKENIZER)
    assert [c.section_index for c in chunks if c.page == 2] == [1]
    assert {c.section_index for c in chunks} == {0, 1, 2}


def test_ids_are_stable_and_distinct_for_repeated_text() -> None:
    sections = [Section("Same words."), Section("Same words."), Section("Other.")]
    first = chunk_sections("a.md", sections, TOKENIZER)
    assert [c.id for c in first] == [c.id for c in chunk_sections("a.md", sections, TOKENIZER)]
    assert len({c.id for c in first}) == 3 and all(
        re.fullmatch(r"[0-9a-f]{24}", c.id) for c in first
    )
    other_path = chunk_sections("b.md", sections, TOKENIZER)
    assert not {c.id for c in first} & {c.id for c in other_path}


def test_inserting_a_paragraph_changes_only_nearby_ids() -> None:
    paragraphs = [f"Topic {i} " + sentence(6 + i % 5, f"w{i}") for i in range(60)]
    before = chunk_sections("a", [Section("\n\n".join(paragraphs))], TOKENIZER, 40, 8)
    paragraphs.insert(30, "An inserted paragraph. " + sentence(8, "new"))
    after = chunk_sections("a", [Section("\n\n".join(paragraphs))], TOKENIZER, 40, 8)
    old_ids, new_ids = [c.id for c in before], [c.id for c in after]
    assert len(before) > 20
    changed = set(new_ids) - set(old_ids)
    assert 1 <= len(changed) <= 4
    assert new_ids[:10] == old_ids[:10] and new_ids[-10:] == old_ids[-10:]


def test_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_sections("a", [Section("x")], TOKENIZER, max_tokens=8, overlap=8)


PIECES = st.sampled_from(
    ["word", "a", "Sentence.", "end!", "why?", "x" * 30, "(note)", "“quoted.”", ",", "über"]
)
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  \n \n", "\t", ""])


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(PIECES, SEPARATORS), max_size=120))
    return "".join(piece + separator for piece, separator in parts)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(texts(), min_size=1, max_size=3),
    st.integers(min_value=1, max_value=40),
    st.data(),
)
def test_invariants_hold_for_any_text(
    sections_text: list[str], max_tokens: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(min_value=0, max_value=max_tokens - 1))
    sections = [Section(text, page=i + 1) for i, text in enumerate(sections_text)]
    chunks = chunk_sections("p.txt", sections, TOKENIZER, max_tokens, overlap)
    check_invariants(sections, chunks, max_tokens, TOKENIZER)
    assert chunks == chunk_sections("p.txt", sections, TOKENIZER, max_tokens, overlap)


def test_a_sentence_end_beats_a_line_wrap_and_a_line_beats_a_space() -> None:
    # PDF-like text: lines wrapped every 6 words, one sentence end in the middle of a line.
    words = [f"w{i}" for i in range(30)]
    words[14] += "."
    lines = [" ".join(words[i : i + 6]) for i in range(0, 30, 6)]
    text = "\n".join(lines)
    [first, *_] = chunk_sections("a", [Section(text)], TOKENIZER, max_tokens=20, overlap=0)
    assert first.text.endswith("w14.")
    # A list without full stops: cut at a line break, not inside an item.
    items = "\n".join(f"- item {i} alpha beta" for i in range(10))
    [first, *_] = chunk_sections("a", [Section(items)], TOKENIZER, max_tokens=16, overlap=0)
    assert first.text.endswith("beta") and first.n_tokens == 15


def test_a_long_section_is_cut_in_pieces_with_exact_offsets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paragraph = "Rotate the key. Then deploy the server again, and check it.\n\n"
    text = paragraph * 120 + "." * 3000 + " tail words here"  # a run with no break at all
    cuts = list(pieces(text, 1000))
    assert "".join(piece for _, piece in cuts) == text and len(cuts) > 5
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in cuts)
    whole = chunk_sections("a", [Section(text)], TOKENIZER, max_tokens=40, overlap=8)
    monkeypatch.setattr(chunker, "PIECE_CHARS", 1000)
    cut = chunk_sections("a", [Section(text)], TOKENIZER, max_tokens=40, overlap=8)
    assert all(text[c.start : c.end] == c.text for c in cut)
    assert cut[-1].text.endswith("tail words here")
    # Within a piece nothing changes; only a chunk starting a piece has no overlap.
    assert cut[:5] == whole[:5] and len(cut) >= len(whole) - 1


def test_the_chunk_cap_is_a_loader_error() -> None:
    with pytest.raises(LoaderError, match="over 3 chunks"):
        chunk_sections("a", [Section("word " * 200)], TOKENIZER, 20, 0, max_chunks=3)


# --- line ranges -------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.sampled_from(["", "alpha beta.", "gamma delta epsilon", "  zeta"]), max_size=60
    ),
    first_line=st.integers(1, 500),
    max_tokens=st.integers(2, 12),
)
def test_chunk_line_ranges_are_the_source_lines_of_its_text(
    lines: list[str], first_line: int, max_tokens: int
) -> None:
    text = "\n".join(lines)
    chunks = chunk_sections(
        "a.txt", [Section(text, line=first_line)], FakeWordPiece(), max_tokens, 1
    )
    for chunk in chunks:
        assert chunk.line_start is not None and chunk.line_end is not None
        source = lines[chunk.line_start - first_line : chunk.line_end - first_line + 1]
        assert chunk.text.split("\n")[0] in source[0] and chunk.text.split("\n")[-1] in source[-1]
        assert chunk.line_end - chunk.line_start == chunk.text.count("\n")


def test_sections_without_lines_give_chunks_without_line_ranges() -> None:
    [chunk] = chunk_sections("a.pdf", [Section("one\ntwo", page=3)], FakeWordPiece(), 10, 1)
    assert (chunk.page, chunk.line_start, chunk.line_end) == (3, None, None)
