"""Plain text (.txt) and source code: the whole file is one section, its lines kept as
in the file (only blank lines at both ends dropped), so chunks are cited by line range
(`ssh.1.txt L120-145`, `app.py L10-42`)."""

from __future__ import annotations

from ragstream.ingest.loaders.common import LoadResult, decode_text
from ragstream.models import Section


def load_text(data: bytes) -> LoadResult:
    text, warnings = decode_text(data, ".txt")
    return LoadResult(lines_section(text), warnings)


def load_code(data: bytes) -> LoadResult:
    text, warnings = decode_text(data, "source code")
    return LoadResult(lines_section(text), warnings)


def lines_section(text: str) -> list[Section]:
    """`text` as one Section that knows its first line, or none when it is blank."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    body = "\n".join(line.rstrip() for line in lines[start:]).rstrip()
    return [Section(text=body, line=start + 1)] if body else []
