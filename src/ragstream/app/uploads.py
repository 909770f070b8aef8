"""Uploaded files: checked before anything is written, then written atomically.

An upload lands in `<workspace>/uploads/` under a hidden temporary name and is renamed
into place only once complete and flushed, so a crash or a rejected file leaves nothing
half-written. Names are reduced to a safe basename: a browser may send anything.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path, PurePath

from ragstream.config import Settings
from ragstream.errors import LoaderError
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES, check_size

ACCEPTED = ", ".join(sorted({s.lstrip(".").upper() for s in SUPPORTED_SUFFIXES}))
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def uploads_dir(settings: Settings) -> Path:
    return settings.workspace / "uploads"


def safe_name(name: str) -> str:
    """The basename of `name` with anything odd replaced; never hidden, never empty."""
    base = PurePath(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return cleaned or "upload"


def check_upload(name: str, size: int, max_bytes: int) -> None:
    """Raise LoaderError (one line naming the file) if the upload must be refused: the
    same type and size rules as ingest."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoaderError(f"{name}: {suffix or 'no extension'} is not supported; upload {ACCEPTED}")
    try:
        check_size(size, max_bytes)
    except LoaderError as exc:
        raise LoaderError(f"{name}: {exc}") from None


def save_upload(directory: Path, name: str, data: bytes, max_bytes: int) -> Path:
    """Check, then write `data` to `directory/<safe name>` atomically; return that path."""
    check_upload(name, len(data), max_bytes)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_name(name)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def discard_upload(settings: Settings, path: Path) -> None:
    """Delete the uploaded copy of a removed document (`Workspace.source_path` of its
    key); files outside uploads/ stay."""
    try:
        resolved = path.resolve()
        if resolved.parent == uploads_dir(settings).resolve() and resolved.is_file():
            resolved.unlink()
    except OSError:
        pass  # the index entry is gone; a leftover file is harmless
