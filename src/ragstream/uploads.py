"""Uploaded files (the page's and the API's): checked before anything is written, then
written atomically.

An upload lands in `<workspace>/uploads/` under a hidden temporary name and is linked
into place only once complete and flushed, so a crash or a rejected file leaves nothing
half-written. Names are reduced to a safe basename: a browser may send anything.
An upload never replaces another document: the same bytes under the same name are the
same document (ingest then says "unchanged"); different bytes under a taken name are
kept beside it as `notes (2).md`. Names are claimed with a hard link, which fails if
the name exists, so two tabs uploading `notes.md` at once cannot overwrite each other.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path, PurePath

from ragstream.config import Settings
from ragstream.errors import LoaderError
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES, check_size, human_size

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


def limit_note(max_bytes: int) -> str:
    """The limit as the page states it up front, with the setting that changes it."""
    return (
        f"Up to {human_size(max_bytes)} per file; larger files are refused "
        "(RAGSTREAM_MAX_FILE_MB sets the limit)."
    )


def save_upload(directory: Path, name: str, data: bytes, max_bytes: int) -> Path:
    """Check, then write `data` under `directory` atomically; return where it is.

    The path is `<safe name>` if free or already holding these bytes, else the first
    `<stem> (n)<suffix>` that is.
    """
    check_upload(name, len(data), max_bytes)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        for candidate in _candidates(safe_name(name)):
            target = directory / candidate
            if _holds(target, data):
                return target
            if _claim(Path(tmp), target):
                return target
        raise LoaderError(f"{name}: too many uploads with this name; remove some first")
    finally:
        Path(tmp).unlink(missing_ok=True)


def _candidates(name: str, limit: int = 1000) -> list[str]:
    path = PurePath(name)
    return [name] + [f"{path.stem} ({n}){path.suffix}" for n in range(2, limit)]


def _holds(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _claim(tmp: Path, target: Path) -> bool:
    """Put `tmp` at `target` unless that name exists (atomic: a link never overwrites)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: claim the name, then fill it
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        os.replace(tmp, target)
    return True


def discard_upload(settings: Settings, path: Path) -> None:
    """Delete the uploaded copy of a removed document (`Workspace.source_path` of its
    key); files outside uploads/ stay."""
    try:
        resolved = path.resolve()
        if resolved.parent == uploads_dir(settings).resolve() and resolved.is_file():
            resolved.unlink()
    except OSError:
        pass  # the index entry is gone; a leftover file is harmless
