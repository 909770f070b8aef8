"""What every connector yields: one `Doc` per document the source holds right now."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Doc:
    key: str  # stored and cited under: "docs/a.md", "https://site/page", "s3://bucket/key"
    version: str = ""  # cheap validator (size+mtime, ETag); equal version = unchanged
    suffix: str = ""  # picks the loader (".html", ".pdf", ...)
    data: bytes | None = None  # None: unchanged since `version`, nothing was read
    error: str = ""  # one line: why it could not be read this time (kept in the index)
    gone: bool = False  # with error: the document no longer exists (404): drop it
    pending: bool = False  # still being written: keep the old one, look again soon
    extra: dict[str, Any] = field(default_factory=dict)  # kept with the version (links)


class Connector(Protocol):
    def scan(self, known: Mapping[str, Mapping[str, Any]]) -> Iterator[Doc]:
        """Every document of the source; `known` is key -> {"version", ...} of the last
        sync, for documents still in the index. Raises SourceError when the source as a
        whole cannot be listed (then nothing is removed from the index)."""
        ...
