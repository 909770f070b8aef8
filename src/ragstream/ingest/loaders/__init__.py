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
from collections.abc import Callable
from pathlib import Path

from ragstream.config import MB
from ragstream.errors import LoaderError
from ragstream.ingest.loaders.common import LoadResult

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
]


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load_document(path: Path, max_bytes: int | None = None) -> LoadResult:
    """The sections of the document at `path`, plus warnings the caller may report (e.g.
    "not UTF-8: read as ..."); LoaderError says why it cannot be read. The pipeline calls
    the two halves itself, to hash the bytes before parsing them."""
    return load_bytes(path.suffix, read_checked(path, max_bytes))


def read_checked(path: Path, max_bytes: int | None = None) -> bytes:
    """The file's bytes, after the checks that need no parsing (type, size, emptiness).

    The ingest pipeline reads each file once: it hashes these bytes to skip unchanged
    files, and parses them only when they changed (`load_bytes`).
    """
    if not is_supported(path):
        raise LoaderError(f"unsupported file type {path.suffix or '(no suffix)'!r}")
    try:
        check_size(path.stat().st_size, max_bytes)  # before reading: a huge file costs nothing
        return path.read_bytes()
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


def load_bytes(suffix: str, data: bytes) -> LoadResult:
    """Parse a document's bytes with the loader for `suffix`."""
    result = loader_for(suffix)(data)
    if not result.sections:
        raise LoaderError("no text found: the file holds nothing to index")
    return result


def loader_for(suffix: str) -> Loader:
    module_name, function = LOADERS[suffix.lower()]
    module = importlib.import_module(f"ragstream.ingest.loaders.{module_name}")
    loader: Loader = getattr(module, function)
    return loader
