"""Cut sections into chunks of at most `max_tokens` embedder tokens, with overlap.

Each section is tokenised once; every gap between two tokens gets a strength (paragraph
break > sentence end > line break > space > inside a word). A chunk ends at the latest
paragraph or sentence end in the second half of its window; a bare line break counts
only in the last quarter (PDF text breaks lines wherever the page wrapped them); a giant
sentence is cut between words, a giant word between tokens. The next chunk starts about
`overlap` tokens earlier, at a sentence start when one is near. A chunk never spans two
sections, and `text[start:end]` of its section is exactly its text, so a citation can
point back to the character.

Chunk ids hash the path, the text and how many identical texts came earlier in the
document: unchanged content keeps its ids, and since cuts depend only on nearby text,
an inserted paragraph changes only the ids of chunks near it.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence

from ragstream.index.embedder import Tokenizer
from ragstream.ingest import limits
from ragstream.models import Chunk, Section

TOKEN, WORD, LINE, SENTENCE, PARAGRAPH = 0, 1, 2, 3, 4  # strength of the gap before a token
_PARAGRAPH_GAP = re.compile(r"\n[ \t\r\f\v]*\n")
_SENTENCE_END = tuple(".!?。！？…")
_CLOSERS = "\"')]}”’»"
PIECE_CHARS = 200_000  # a longer section is tokenised in pieces of about this size


def chunk_sections(
    path: str,
    sections: Sequence[Section],
    tokenizer: Tokenizer,
    max_tokens: int = 256,
    overlap: int = 32,
    *,
    max_chunks: int | None = None,
) -> list[Chunk]:
    """The chunks of one document, numbered by `ordinal` across its sections.

    More than `max_chunks` chunks is a LoaderError (the per-file cap in ingest.limits),
    found while cutting: a huge file is never tokenised whole.
    """
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise ValueError(
            f"need max_tokens >= 1 and 0 <= overlap < max_tokens, got {max_tokens}, {overlap}"
        )
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    for section_index, section in enumerate(sections):
        lines_before = 0  # newlines of the section before the current piece
        for offset, piece in pieces(section.text, PIECE_CHARS):
            limits.check_time()
            spans = tokenizer.token_spans(piece)
            # Newline offsets per piece, never for the whole section: 24M lines would not fit.
            first_line = None if section.line is None else section.line + lines_before
            newlines = _newlines(piece, first_line)
            for first, stop in token_windows(piece, spans, max_tokens, overlap):
                start, end = spans[first][0], spans[stop - 1][1]
                text = piece[start:end]
                lines = _line_range(first_line, newlines, start, end)
                chunks.append(
                    Chunk(
                        id=chunk_id(path, text, seen[text]),
                        path=path,
                        text=text,
                        ordinal=len(chunks),
                        page=section.page,
                        title=section.title,
                        section_index=section_index,
                        start=offset + start,
                        end=offset + end,
                        n_tokens=stop - first,
                        line_start=lines[0] if lines else None,
                        line_end=lines[1] if lines else None,
                    )
                )
                seen[text] += 1
            lines_before += piece.count("\n") if section.line is not None else 0
            if max_chunks is not None:
                limits.check_count(len(chunks), max_chunks, "chunks", "split the file")
    return chunks


def pieces(text: str, size: int) -> Iterator[tuple[int, str]]:
    """(offset, piece) of a long text, cut at paragraph, else line, else space breaks.

    The tokeniser's spans of a whole 50 MB text would take gigabytes; pieces of ~size
    characters bound that, and a chunk never spans a cut (cuts fall where a chunk would
    end anyway). Texts up to `size` are one piece, so ordinary documents are unchanged.
    """
    start = 0
    while len(text) - start > size:
        limit = start + size
        for separator in ("\n\n", "\n", " "):
            cut = text.rfind(separator, start + size // 2, limit)
            if cut >= 0:
                cut += len(separator)
                break
        else:
            cut = limit  # no break at all (a megabyte of dots): cut anywhere
        yield start, text[start:cut]
        start = cut
    if start < len(text):
        yield start, text[start:]


def _newlines(text: str, first_line: int | None) -> list[int]:
    """Offsets of the text's newlines, when it knows its first line (else unused)."""
    if first_line is None:
        return []
    return [m.start() for m in re.finditer("\n", text)]


def _line_range(
    first_line: int | None, newlines: list[int], start: int, end: int
) -> tuple[int, int] | None:
    """The source lines text[start:end] spans: the first line plus newlines before it."""
    if first_line is None:
        return None
    return first_line + bisect_left(newlines, start), first_line + bisect_left(newlines, end)


def chunk_id(path: str, text: str, earlier_copies: int) -> str:
    # surrogatepass: a lone surrogate (from an odd file name or text) must not crash here.
    digest = hashlib.sha256(f"{path}\0{text}\0{earlier_copies}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:24]


def token_windows(
    text: str, spans: Sequence[tuple[int, int]], max_tokens: int, overlap: int
) -> list[tuple[int, int]]:
    """[first, stop) token index ranges of the chunks of one section."""
    n = len(spans)
    if n <= max_tokens:
        return [(0, n)] if n else []
    strength = gap_strengths(text, spans)
    windows: list[tuple[int, int]] = []
    first, stop = 0, 0
    while True:
        stop = _cut(strength, first, n, max_tokens, past=stop)
        windows.append((first, stop))
        if stop == n:
            return windows
        first = _next_first(strength, first, stop, overlap)


def gap_strengths(text: str, spans: Sequence[tuple[int, int]]) -> list[int]:
    """strength[j]: how good a place the gap before token j is to cut (j >= 1)."""
    strength = [PARAGRAPH] * (len(spans) + 1)  # index 0 and n: the section's own ends
    for j in range(1, len(spans)):
        previous_end, next_start = spans[j - 1][1], spans[j][0]
        gap = text[previous_end:next_start]
        if not gap:
            strength[j] = TOKEN
        elif _PARAGRAPH_GAP.search(gap):
            strength[j] = PARAGRAPH
        elif text[max(0, previous_end - 3) : previous_end].rstrip(_CLOSERS).endswith(_SENTENCE_END):
            strength[j] = SENTENCE
        else:
            strength[j] = LINE if "\n" in gap else WORD
    return strength


def _cut(strength: list[int], first: int, n: int, max_tokens: int, past: int) -> int:
    """The stop of the chunk starting at `first`: the latest paragraph or sentence end in
    the window's second half, else the latest line break in its last quarter, else the
    latest space; always beyond the previous chunk's stop, `past`."""
    limit = first + max_tokens
    if limit >= n:
        return n
    latest: dict[int, int] = {}
    for j in range(limit, max(first + max_tokens // 2, first + 1, past + 1) - 1, -1):
        latest.setdefault(strength[j], j)
        if strength[j] == PARAGRAPH:
            break
    for level in (PARAGRAPH, SENTENCE):
        if level in latest:
            return latest[level]
    if LINE in latest and latest[LINE] >= first + max_tokens * 3 // 4:
        return latest[LINE]
    return max((latest[level] for level in (LINE, WORD) if level in latest), default=limit)


def _next_first(strength: list[int], first: int, stop: int, overlap: int) -> int:
    """Start the next chunk about `overlap` tokens before `stop`, at the nearest sentence
    (else line, else word) start within overlap/2 of that; always after `first`, so it advances."""
    if overlap == 0:
        return stop
    target = stop - overlap
    low, high = max(first + 1, target - overlap // 2), min(stop, target + overlap // 2)
    for level in (SENTENCE, LINE, WORD):
        candidates = [j for j in range(low, high + 1) if strength[j] >= level]
        if candidates:
            return min(candidates, key=lambda j: (abs(j - target), j))
    return max(first + 1, target)
