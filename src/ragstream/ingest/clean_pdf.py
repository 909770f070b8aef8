"""PDF page text as prose: running headers/footers, page numbers, TOC and index pages
out; hyphenation and in-sentence line breaks joined.

Pure functions over the text of every page (one string per page, lines split by "\\n"),
used by the PDF loader. Why each rule:
- A running header or footer is a line at the same place (among the first or last two
  lines) on many pages: the same text on most pages ("Tiny Manual"), or the same text
  with a changing number on several ("Chapter 3: Utilities 7", "Page 7 of 90").
- TOC and index pages are mostly dot leaders or "term, 12, 45" lines: they match every
  query's words and answer none. Dot-leader lines on other pages go too.
- PDF text breaks lines wherever the page wrapped them; a quoted sentence must read as
  one line for highlighting and for the chunker's sentence cuts. A short line (well under
  the page's usual width) ends a paragraph; a long one continues into the next.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

EDGE_LINES = 2  # how many lines at the top and at the bottom may be running lines
_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?(?:\d{1,5}|[ivxlcdm]{1,7})(?:\s*(?:/|of)\s*\d{1,5})?$", re.IGNORECASE
)
# "Closures ........ 12", "20 asn1_der_decoding2 . . . . . [4]"
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*\[?\d{1,5}\]?\s*$")
# "closure, 12, 45-47" / "ffi_call 7": an index entry (term, then page numbers)
_INDEX_ENTRY = re.compile(
    r"^\D.{0,70}?[,\s]\s*\d{1,5}(?:\s*[-–]\s*\d{1,5})?(?:,\s*\d{1,5}(?:\s*[-–]\s*\d{1,5})?)*$"
)
_TOC_TITLE = re.compile(r"^(?:table of )?contents$|^index$", re.IGNORECASE)
# list items and "term: definition" lines start a line of their own
_BULLET = re.compile(r"^(?:[•▪◦‣\-–*]\s|\(?\d{1,3}[.)]\s|\(?[a-z][.)]\s|[A-Za-z_][\w-]{0,30}:\s)")
_NUMBER = re.compile(r"^[-+(]?[$€£]?\d[\d,.]*%?\)?$")
_SENTENCE_END = re.compile(r"[.!?:;)\"'”’]$")


def _shape(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()).lower())


def _edges(lines: Sequence[str]) -> list[tuple[str, int]]:
    """(position key, index) of the first and last EDGE_LINES non-empty lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    top = [(f"t{k}", i) for k, i in enumerate(filled[:EDGE_LINES])]
    bottom = [(f"b{k}", i) for k, i in enumerate(reversed(filled[-EDGE_LINES:]))]
    return top + bottom


def running_line_indexes(pages: Sequence[Sequence[str]]) -> list[set[int]]:
    """For each page, the indexes of its lines that are running headers, footers or
    page numbers."""
    seen: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for number, lines in enumerate(pages):
        if sum(1 for line in lines if line.strip()) < 2:
            continue  # a one-line page's line is its content, not a header over it
        for key, i in _edges(lines):
            text = " ".join(lines[i].split())
            seen[(key, _shape(text))].append((number, text))
    n = len(pages)
    running = {
        place
        for place, hits in seen.items()
        if len(hits) >= 3
        and (Counter(t for _, t in hits).most_common(1)[0][1] >= 0.5 * n or _counts_pages(hits))
    }
    result: list[set[int]] = []
    for lines in pages:
        drop = set()
        for key, i in _edges(lines):
            text = " ".join(lines[i].split())
            if (key, _shape(text)) in running or (n > 1 and _PAGE_NUMBER.match(text)):
                drop.add(i)
        result.append(drop)
    return result


def _counts_pages(hits: Sequence[tuple[int, str]]) -> bool:
    """Some number in the line moves in step with the page ("Chapter 3: Utilities 7" on
    page 9, "... 8" on page 10): a running header or footer with its page number."""
    numbers = [[int(x) for x in _DIGITS.findall(text)] for _, text in hits]
    for slot in range(len(numbers[0])):
        offsets = {row[slot] - page for row, (page, _) in zip(numbers, hits, strict=True)}
        if len(offsets) == 1:
            return True
    return False


def is_toc_or_index_page(lines: Sequence[str]) -> bool:
    """Mostly dot leaders (a TOC) or "term, page" entries (an index)."""
    filled = [" ".join(line.split()) for line in lines if line.strip()]
    if len(filled) < 5:
        return False
    leaders = sum(1 for line in filled if _DOT_LEADER.search(line))
    # a table row ("North 1200 1300") ends in numbers too, but never just one per column
    entries = sum(1 for line in filled if _INDEX_ENTRY.match(line) and not _is_table_row(line))
    titled = any(_TOC_TITLE.match(line) for line in filled[:3])
    return leaders >= 0.3 * len(filled) or entries >= (0.4 if titled else 0.7) * len(filled)


def join_lines(lines: Sequence[str]) -> str:
    """One page's lines as paragraphs: wrapped lines joined (a hyphen at a line end
    joined into the word), short lines ending a paragraph, list items kept apart."""
    filled = [" ".join(line.split()) for line in lines]
    lengths = sorted(len(line) for line in filled if line)
    width = lengths[int(len(lengths) * 0.9)] if lengths else 0
    out: list[str] = []
    for line in filled:
        if not line:
            if out and out[-1] != "\n\n":
                out.append("\n\n")
            continue
        if out and out[-1] not in ("\n", "\n\n"):
            previous = out[-1]
            if (
                _BULLET.match(line)
                or len(previous) < 0.7 * width
                or width < 30
                or _is_table_row(previous)
                or _is_table_row(line)
            ):
                out.append("\n\n" if _SENTENCE_END.search(previous) else "\n")
            elif re.search(r"\w-$", previous) and line[:1].islower():
                out[-1] = previous[:-1]  # "exam-" + "ple": one word
            else:
                out.append(" ")
        out.append(line)
    return "".join(out).strip()


def _is_table_row(line: str) -> bool:
    """Three or more numbers making up much of the line: a row of a table."""
    tokens = line.split()
    numeric = sum(1 for t in tokens if _NUMBER.match(t))
    return numeric >= 3 and numeric >= 0.4 * len(tokens)


def clean_pages(pages: Sequence[str]) -> list[str]:
    """Each page's cleaned text ("" for a TOC or index page, or one with nothing left)."""
    split = [page.split("\n") for page in pages]
    running = running_line_indexes(split)
    cleaned = []
    for lines, drop in zip(split, running, strict=True):
        kept = [line for i, line in enumerate(lines) if i not in drop]
        if is_toc_or_index_page(kept):
            cleaned.append("")
            continue
        kept = [line for line in kept if not _DOT_LEADER.search(line)]
        cleaned.append(join_lines(kept))
    return cleaned
