"""Document loaders, one module per format, chosen by file suffix.

    load(path, max_bytes)            -> list[Section]     (raises LoaderError)
    load_document(path, max_bytes)   -> LoadResult        (sections + warnings)

A LoaderError's message is one line saying why and what to do; it does not repeat the
path, since the ingest report shows it next to the path. Unknown suffixes are the
caller's business: check `is_supported` first.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from ragstream.errors import LoaderError
from ragstream.ingest.loaders.common import LoadResult
from ragstream.models import Section

Loader = Callable[[bytes], LoadResult]
MB = 1024 * 1024  # max_file_mb counts mebibytes: pass max_bytes=int(max_file_mb * MB)


# suffix -> (module, function). Modules are imported on first use: PDFium, python-docx
# and BeautifulSoup cost import time that `ragstream search` should not pay.
LOADERS: dict[str, tuple[str, str]] = {
    ".txt": ("text", "load_text"),
    ".md": ("markdown", "load_markdown"),
    ".markdown": ("markdown", "load_markdown"),
    ".pdf": ("pdf", "load_pdf"),
    ".docx": ("docx", "load_docx"),
    ".html": ("html", "load_html"),
    ".htm": ("html", "load_html"),
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(LOADERS)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadResult",
    "is_supported",
    "load",
    "load_bytes",
    "load_document",
    "read_checked",
    "read_file",
]


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load(path: Path, max_bytes: int | None = None) -> list[Section]:
    """The sections of the document at `path`; LoaderError says why it cannot be read."""
    return load_document(path, max_bytes).sections


def load_document(path: Path, max_bytes: int | None = None) -> LoadResult:
    """Like `load`, plus warnings the caller may report (e.g. "not UTF-8: read as ...")."""
    return load_bytes(path.suffix, read_checked(path, max_bytes))


def read_checked(path: Path, max_bytes: int | None = None) -> bytes:
    """The file's bytes, after the checks that need no parsing (type, size, emptiness)."""
    return read_file(path, max_bytes)[0]


def read_file(path: Path, max_bytes: int | None = None) -> tuple[bytes, float]:
    """The file's bytes and mtime, after the checks that need no parsing.

    The ingest pipeline reads each file once: it hashes these bytes to skip unchanged
    files, and parses them only when they changed (`load_bytes`). Size and mtime come
    from the open file, so a file deleted or replaced meanwhile cannot fail later.
    """
    if not is_supported(path):
        raise LoaderError(f"unsupported file type {path.suffix or '(no suffix)'!r}")
    try:
        # A FIFO, socket or device is never opened: reading a FIFO blocks forever.
        kind = _not_regular(os.stat(path).st_mode)
        if kind:
            raise LoaderError(f"not a regular file ({kind}): only files are read")
        # O_NONBLOCK: if it was swapped for a FIFO since the stat, open must not block.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            kind = _not_regular(info.st_mode)
            if kind:
                raise LoaderError(f"not a regular file ({kind}): only files are read")
            size = info.st_size  # checked before reading: a huge file costs nothing
            if max_bytes is not None and size > max_bytes:
                raise LoaderError(
                    f"file is {size / MB:.1f} MB, over the {max_bytes / MB:g} MB limit "
                    "(max_file_mb)"
                )
            if size == 0:
                raise LoaderError("empty file")
            # Never more than stat said (it may grow while read): the size check holds.
            return handle.read(size), info.st_mtime
    except OSError as exc:
        raise LoaderError(f"cannot read the file ({exc.strerror or exc})") from None


def _not_regular(mode: int) -> str:
    """'' for a regular file, else what it is."""
    if stat.S_ISREG(mode):
        return ""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a file"


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def load_bytes(suffix: str, data: bytes) -> LoadResult:
    """Parse a document's bytes with the loader for `suffix`."""
    result = loader_for(suffix)(data)
    if not result.sections:
        raise LoaderError("no text found: the file holds nothing to index")
    # PostgreSQL refuses NUL in text, and no format means one: dropped here, for all loaders.
    result.sections = [_without_nul(s) for s in result.sections]
    return result


def _without_nul(section: Section) -> Section:
    if "\x00" not in section.text and "\x00" not in (section.title or ""):
        return section
    title = section.title.replace("\x00", "") if section.title else section.title
    return Section(section.text.replace("\x00", ""), section.page, title)


def loader_for(suffix: str) -> Loader:
    module_name, function = LOADERS[suffix.lower()]
    module = importlib.import_module(f"ragstream.ingest.loaders.{module_name}")
    loader: Loader = getattr(module, function)
    return loader
