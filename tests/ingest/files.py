"""Writing a test file and reading it back through the loaders, for the loader tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.errors import LoaderError
from ragstream.ingest.loaders import load_document
from ragstream.models import Section


def load(path: Path, max_bytes: int | None = None) -> list[Section]:
    return load_document(path, max_bytes).sections


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def reason(path: Path, max_bytes: int | None = None) -> str:
    with pytest.raises(LoaderError) as info:
        load(path, max_bytes=max_bytes)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) not in message and path.name not in message  # the report shows it
    return message
