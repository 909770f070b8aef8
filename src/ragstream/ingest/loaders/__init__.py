"""Document loaders, one module per format, chosen by file suffix.

    read_checked(path, max_bytes)    -> bytes             (type, size, emptiness checked)
    load_bytes(suffix, data)         -> LoadResult        (sections + warnings)
    load_document(path, max_bytes)   -> LoadResult        (the two in one)

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

from ragstream.config import MB
from ragstream.errors import LoaderError
from ragstream.ingest.loaders.common import LoadResult
from ragstream.models import Section

Loader = Callable[[bytes], LoadResult]


# suffix -> (module, function). Modules are imported on first use: PDFium, python-docx
# and BeautifulSoup cost import time that `ragstream search` should not pay.
LOADERS: dict[str, tuple[str, str]] = {
    ".txt": ("text", "load_text"),
    ".rst": ("text", "load_text"),
    ".md": ("markdown", "load_markdown"),
    ".markdown": ("markdown", "load_markdown"),
    ".pdf": ("pdf", "load_pdf"),
    ".docx": ("docx", "load_docx"),
    ".html": ("html", "load_html"),
    ".htm": ("html", "load_html"),
    ".csv": ("delimited", "load_csv"),
    ".tsv": ("delimited", "load_tsv"),
    ".xlsx": ("xlsx", "load_xlsx"),
    ".pptx": ("pptx", "load_pptx"),
    ".eml": ("eml", "load_eml"),
    # Read by OCR (ragstream.ingest.ocr), per the `ocr` setting.
    ".png": ("image", "load_image"),
    ".jpg": ("image", "load_image"),
    ".jpeg": ("image", "load_image"),
    ".tif": ("image", "load_image"),
    ".tiff": ("image", "load_image"),
}
# Source code: plain text cited by line range.
CODE_SUFFIXES = (
    ".py", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".kt", ".c", ".h",
    ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".sh", ".sql", ".swift", ".scala", ".lua",
)  # fmt: skip
LOADERS.update({suffix: ("text", "load_code") for suffix in CODE_SUFFIXES})
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(LOADERS)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadResult",
    "check_size",
    "human_size",
    "is_supported",
    "load_bytes",
    "load_document",
    "read_checked",
    "read_file",
]


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load_document(path: Path, max_bytes: int | None = None) -> LoadResult:
    """The sections of the document at `path`, plus warnings the caller may report (e.g.
    "not UTF-8: read as ..."); LoaderError says why it cannot be read. The pipeline calls
    the two halves itself, to hash the bytes before parsing them."""
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
            check_size(info.st_size, max_bytes)  # before reading: a huge file costs nothing
            # Never more than stat said (it may grow while read): the size check holds.
            return handle.read(info.st_size), info.st_mtime
    except OSError as exc:
        raise LoaderError(f"cannot read the file ({exc.strerror or exc})") from None


def check_size(size: int, max_bytes: int | None) -> None:
    """The one size rule for files and uploads (max_file_mb, in MiB)."""
    if max_bytes is not None and size > max_bytes:
        raise LoaderError(
            f"file is {human_size(size)}, over the {human_size(max_bytes)} limit "
            "(raise max_file_mb / RAGSTREAM_MAX_FILE_MB to allow it)"
        )
    if size == 0:
        raise LoaderError("empty file")


def human_size(n_bytes: float) -> str:
    return f"{n_bytes / MB:.1f} MB" if n_bytes >= MB / 10 else f"{n_bytes / 1024:.1f} kB"


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
