"""Plain text (.txt): the whole file is one section."""

from __future__ import annotations

from ragstream.ingest.loaders.common import LoadResult, decode_text, tidy
from ragstream.models import Section


def load_text(data: bytes) -> LoadResult:
    text, warnings = decode_text(data, ".txt")
    text = tidy(text)
    return LoadResult([Section(text=text)] if text else [], warnings)
