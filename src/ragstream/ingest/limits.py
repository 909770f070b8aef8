"""Bounds on the work one file may cost, so a small hostile file cannot exhaust memory or
time: every loader and the chunker check these, and a violation is a LoaderError, i.e.
one line in the ingest report for that file while the run goes on.

    check_zip(data, kind)            OOXML (.docx/.xlsx/.pptx): sizes declared in the zip,
                                     checked before any part is inflated or parsed
    check_count(n, limit, what, fix) a count (PDF pages, chunks, ...) over its cap
    with file_budget(seconds): ...   the per-file time budget the pipeline opens;
    check_time()                     loaders call it in their loops (no-op outside one)

Why the zip check is enough: zipfile (used by python-docx, openpyxl, python-pptx) never
yields more than an entry's declared size (more fails its CRC), so bounding the declared
sizes bounds what a parser can be fed. With these values, an ingest's peak RSS stays
under PEAK_RSS_BOUND_MB on any single file within max_file_mb (tests/ingest/test_hostile.py
measures it under a memory cap; bench/hostile.py records the figures).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ragstream.errors import LoaderError

MiB = 1024 * 1024

ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_XML_PART_BYTES = 48 * MiB  # one XML part, inflated: its parsed tree costs ~10x this
ZIP_MAX_TOTAL_BYTES = 256 * MiB  # all parts inflated (python-docx holds every part in memory)
ZIP_MAX_RATIO = 200  # inflated/compressed size of a part over 1 MiB; real XML is ~5-30
PDF_MAX_PAGES = 5_000
HTML_MAX_TAGS = 1_000_000  # "<" counted before parsing: BeautifulSoup costs ~600 B a node
CHUNKS_MAX_PER_FILE = 4_000  # ~1M tokens, ~4 MB of English: a 1,500-page book fits
SECONDS_MAX_PER_FILE = 120.0  # loading + chunking one file (embedding is batched apart)
PEAK_RSS_BOUND_MB = 1024  # documented bound on an ingest's peak RSS for any single file

# (monotonic deadline, budget seconds) of the file being read in this context, if any
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("ragstream_deadline", default=None)


def check_zip(data: bytes, kind: str) -> None:
    """Refuse an OOXML file whose parts would inflate past the caps (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoaderError(f"not a readable {kind} (not a zip file: {exc})") from None
    check_count(len(entries), ZIP_MAX_ENTRIES, f"parts in the {kind}", "re-save it")
    total = 0
    for entry in entries:
        size = entry.file_size
        total += size
        if entry.filename.endswith((".xml", ".rels")) and size > ZIP_MAX_XML_PART_BYTES:
            raise LoaderError(
                f"{kind} part {entry.filename} inflates to {size / MiB:.0f} MB, over the "
                f"{ZIP_MAX_XML_PART_BYTES // MiB} MB limit: split the document"
            )
        if size > MiB and size > ZIP_MAX_RATIO * max(entry.compress_size, 1):
            raise LoaderError(
                f"{kind} part {entry.filename} inflates {size // max(entry.compress_size, 1)}x "
                f"(limit {ZIP_MAX_RATIO}x): looks like a zip bomb"
            )
    if total > ZIP_MAX_TOTAL_BYTES:
        raise LoaderError(
            f"{kind} inflates to {total / MiB:.0f} MB, over the "
            f"{ZIP_MAX_TOTAL_BYTES // MiB} MB limit: split it or compress its images"
        )


def check_count(n: int, limit: int, what: str, fix: str) -> None:
    if n > limit:
        raise LoaderError(f"over {limit:,} {what} (the per-file limit): {fix}")


@contextmanager
def file_budget(seconds: float = SECONDS_MAX_PER_FILE) -> Iterator[None]:
    """Within this block, check_time() fails once `seconds` have passed."""
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def check_time() -> None:
    budget = _deadline.get()
    if budget is not None and time.monotonic() > budget[0]:
        raise LoaderError(
            f"took over {budget[1]:g} s to read (the per-file time budget): split the file"
        )
