"""Citation markers: find the [n] an answer uses, drop those that point at nothing.

Markers are `[n]` or `[n, m]`. A marker whose numbers are all out of range disappears
with the space before it; one with some valid numbers keeps only those. `MarkerFilter`
does the same on a stream of deltas, holding back only a possibly unfinished marker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragstream.generate.events import Source

MARKER = re.compile(r"(\s*)\[(\d+(?:\s*,\s*\d+)*)\]")
# a tail that may still grow into a marker: spaces, or "[", "[1", "[1, " ...
UNFINISHED_TAIL = re.compile(r"\s*(\[[\d,\s]{0,12})?$")


def clean_markers(text: str, n_sources: int) -> str:
    """`text` with every number outside 1..n_sources removed from its marker."""

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(x) for x in match.group(2).split(",")]
        valid = [x for x in numbers if 1 <= x <= n_sources]
        if not valid:
            return ""
        return f"{match.group(1)}[{', '.join(str(x) for x in dict.fromkeys(valid))}]"

    return MARKER.sub(keep_valid, text)


def cited_numbers(text: str, n_sources: int) -> list[int]:
    """Valid source numbers the text cites, in order of first use, each once."""
    seen: dict[int, None] = {}
    for match in MARKER.finditer(text):
        for x in match.group(2).split(","):
            if 1 <= int(x) <= n_sources:
                seen.setdefault(int(x))
    return list(seen)


def cited_sources(text: str, sources: Sequence[Source]) -> tuple[Source, ...]:
    by_n = {s.n: s for s in sources}
    return tuple(by_n[n] for n in cited_numbers(text, len(sources)) if n in by_n)


class MarkerFilter:
    """Cleans markers in streamed text; `feed` returns what is safe to show now."""

    def __init__(self, n_sources: int) -> None:
        self.n_sources = n_sources
        self._pending = ""

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        tail = UNFINISHED_TAIL.search(text)
        cut = tail.start() if tail else len(text)
        self._pending = text[cut:]
        return clean_markers(text[:cut], self.n_sources)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return clean_markers(text, self.n_sources)
