"""Bounds on the work one file may cost, so a small hostile file cannot exhaust memory or
time: every loader and the chunker check these, and a violation is a LoaderError, i.e.
one line in the ingest report for that file while the run goes on.

    check_zip(data, kind)            OOXML (.docx/.xlsx/.pptx): sizes declared in the zip,
                                     checked before any part is inflated or parsed
    check_pdf_streams(data)          PDF: Flate streams other than images, inflated in
                                     bounded steps (nothing kept) before PDFium sees them
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
import re
import time
import zipfile
import zlib
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
# PDFium holds ~15x a content stream's inflated size as page objects (0.6 MB of PDF whose
# page inflates to 200 MB peaked at 3 GB), so non-image streams are capped by inflated size.
PDF_MAX_STREAM_BYTES = 32 * MiB
PDF_MAX_STREAMS_TOTAL_BYTES = 512 * MiB
HTML_MAX_TAGS = 1_000_000  # "<" counted before parsing: BeautifulSoup costs ~600 B a node
EML_MAX_ATTACHMENTS = 50  # per message; the rest are named in a warning
EML_MAX_ATTACHMENT_BYTES = 20 * MiB  # one attachment, decoded: its loader's own caps follow
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


_STREAM = re.compile(rb"stream\r?\n")
_IMAGE = re.compile(rb"/Subtype\s*/Image")


def check_pdf_streams(data: bytes) -> None:
    """Refuse a PDF whose non-image Flate streams inflate past the caps (a stream bomb).

    A scan of the raw bytes, not a PDF parser: each `stream` keyword whose dictionary
    (the bytes since the previous `obj`) names FlateDecode and is not an image is
    inflated a megabyte at a time and only counted. Other filters are not checked.
    """
    view = memoryview(data)
    total = 0
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - 1024) : match.start()]
        head = head[head.rfind(b"obj") + 1 :]
        if b"/FlateDecode" not in head or _IMAGE.search(head):
            continue
        size = _inflated_size(view, match.end(), PDF_MAX_STREAM_BYTES)
        if size > PDF_MAX_STREAM_BYTES:
            raise LoaderError(
                f"a PDF content stream inflates to over {PDF_MAX_STREAM_BYTES // MiB} MB "
                "(the per-stream limit): looks like a stream bomb"
            )
        total += size
        if total > PDF_MAX_STREAMS_TOTAL_BYTES:
            raise LoaderError(
                f"PDF content inflates to over {PDF_MAX_STREAMS_TOTAL_BYTES // MiB} MB "
                "(the per-file limit): split the PDF"
            )
        check_time()


def _inflated_size(view: memoryview, start: int, cap: int) -> int:
    """How many bytes the zlib stream at `start` inflates to, stopping past `cap`."""
    inflater = zlib.decompressobj()
    total, position, step = 0, start, 1 << 16
    try:
        while not inflater.eof and position < len(view) and total <= cap:
            pending = bytes(view[position : position + step])
            position += step
            while pending and total <= cap and not inflater.eof:
                out = inflater.decompress(pending, MiB)
                if not out and inflater.unconsumed_tail == pending:
                    break  # no progress: never spin
                total += len(out)
                pending = inflater.unconsumed_tail
    except zlib.error:  # a damaged stream: PDFium copes (or reports) on its own
        pass
    return total


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


def seconds_left() -> float | None:
    """Seconds left in the file's time budget, None outside one (for a child's timeout)."""
    budget = _deadline.get()
    return None if budget is None else budget[0] - time.monotonic()


def check_time() -> None:
    budget = _deadline.get()
    if budget is not None and time.monotonic() > budget[0]:
        raise LoaderError(
            f"took over {budget[1]:g} s to read (the per-file time budget): split the file"
        )
