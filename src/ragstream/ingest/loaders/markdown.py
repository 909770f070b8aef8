"""Markdown (.md, .markdown): one section per heading, titled by the heading path.

A small line scanner rather than a Markdown library: we only need ATX (`## x`) and
setext (`x` over `===`) headings, fenced code blocks (whose `#` lines are not headings)
and YAML front matter; the body text is kept as written, markup and all.
"""

from __future__ import annotations

import re

from ragstream.ingest.loaders.common import LoadResult, SectionBuilder, decode_text
from ragstream.models import Section

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n(?:---|\.\.\.)\n", re.DOTALL)


def load_markdown(data: bytes) -> LoadResult:
    text, warnings = decode_text(data, ".md")
    return LoadResult(parse_markdown(text), warnings)


def parse_markdown(text: str) -> list[Section]:
    builder = SectionBuilder()
    lines: list[str] = []  # body lines of the current section
    fence: str | None = None
    for line in _FRONT_MATTER.sub("", text).split("\n"):
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
            lines.append(line)
            continue
        if fence_match:
            fence = fence_match.group(1)
            lines.append(line)
            continue
        atx = _ATX.match(line)
        if atx:
            builder.text("\n".join(lines))
            lines = []
            builder.heading(len(atx.group(1)), atx.group(2) or "")
            continue
        setext = _SETEXT.match(line)
        # A setext underline turns the single line above it into a heading; "---" after
        # a blank line is a thematic break and is dropped.
        if setext and lines and lines[-1].strip() and (len(lines) == 1 or not lines[-2].strip()):
            title = lines.pop()
            builder.text("\n".join(lines))
            lines = []
            builder.heading(1 if setext.group(1)[0] == "=" else 2, title)
            continue
        if setext and setext.group(1)[0] == "-" and len(setext.group(1)) >= 3:
            continue
        lines.append(line)
    builder.text("\n".join(lines))
    return builder.finish()
