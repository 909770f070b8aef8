"""Markdown (.md, .markdown): one section per heading, titled by the heading path.

A small line scanner rather than a Markdown library: we only need ATX (`## x`) and
setext (`x` over `===`) headings, fenced code blocks (whose `#` lines are not headings)
and YAML front matter. Each section is the file's lines from its heading to the next
heading, as written (markup and all), so a chunk is cited by its exact source lines
(`README.md L12-30`).
"""

from __future__ import annotations

import re

from ragstream.ingest.loaders.common import LoadResult, decode_text
from ragstream.models import Section

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n(?:---|\.\.\.)\n", re.DOTALL)


def load_markdown(data: bytes) -> LoadResult:
    text, warnings = decode_text(data, ".md")
    return LoadResult(parse_markdown(text), warnings)


def parse_markdown(text: str) -> list[Section]:
    front = _FRONT_MATTER.match(text)
    skip = front.group(0).count("\n") if front else 0
    lines = text.split("\n")
    headings = _headings(lines, skip)  # (line index, level, title)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    intro = [(skip, 0, "")] if not headings or headings[0][0] > skip else []
    entries = [*intro, *headings]
    stops = [entry[0] for entry in entries[1:]] + [len(lines)]
    for (start, level, title), stop in zip(entries, stops, strict=True):
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
        section = _slice(lines, start, stop, heading=bool(level))
        if section is not None:
            body, first = section
            path = " > ".join(t for _, t in stack) or None
            sections.append(Section(text=body, title=path, line=first))
    return sections


def _headings(lines: list[str], skip: int) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    fence: str | None = None
    for i in range(skip, len(lines)):
        line = lines[i]
        fence_match = _FENCE.match(line)
        if fence is not None:
            closes = fence_match and fence_match.group(1)[0] == fence[0]
            if closes and fence_match and len(fence_match.group(1)) >= len(fence):
                fence = None
            continue
        if fence_match:
            fence = fence_match.group(1)
            continue
        atx = _ATX.match(line)
        if atx:
            found.append((i, len(atx.group(1)), " ".join((atx.group(2) or "").split())))
            continue
        # A setext underline turns the single line above it (a paragraph of one line)
        # into a heading; "---" after a blank line is a thematic break.
        setext = _SETEXT.match(line)
        above = lines[i - 1] if i - 1 >= skip else ""
        alone = i - 2 < skip or not lines[i - 2].strip() or bool(found and found[-1][0] == i - 2)
        if setext and above.strip() and alone and not (found and found[-1][0] == i - 1):
            level = 1 if setext.group(1)[0] == "=" else 2
            found.append((i - 1, level, " ".join(above.split())))
    return found


def _slice(lines: list[str], start: int, stop: int, heading: bool) -> tuple[str, int] | None:
    """The section's text (blank lines at both ends dropped) and its first line number
    (1-based), or None when it holds no body text under its heading."""
    while start < stop and not lines[start].strip():
        start += 1
    while stop > start and not lines[stop - 1].strip():
        stop -= 1
    body = lines[start + 1 : stop] if heading else lines[start:stop]
    if not any(line.strip() for line in body if not _SETEXT.match(line)):
        return None
    return "\n".join(lines[start:stop]), start + 1
