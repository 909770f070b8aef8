"""Document loaders, one module per format, chosen by file suffix.

    load(path, max_bytes)            -> list[Section]     (raises LoaderError)
    load_document(path, max_bytes)   -> LoadResult        (sections + warnings)

A LoaderError's message is one line saying why and what to do; it does not repeat the
path, since the ingest report shows it next to the path. Unknown suffixes are the
caller's business: check `is_supported` first.
"""

from __future__ import annotations

import importlib
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
    "is_supported",
    "load",
    "load_bytes",
    "load_document",
    "read_checked",
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
    """The file's bytes, after the checks that need no parsing (type, size, emptiness).

    The ingest pipeline reads each file once: it hashes these bytes to skip unchanged
    files, and parses them only when they changed (`load_bytes`).
    """
    if not is_supported(path):
        raise LoaderError(f"unsupported file type {path.suffix or '(no suffix)'!r}")
    try:
        size = path.stat().st_size  # checked before reading: a huge file costs nothing
        if max_bytes is not None and size > max_bytes:
            raise LoaderError(
                f"file is {size / MB:.1f} MB, over the {max_bytes / MB:g} MB limit (max_file_mb)"
            )
        if size == 0:
            raise LoaderError("empty file")
        return path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"cannot read the file ({exc.strerror or exc})") from None


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
