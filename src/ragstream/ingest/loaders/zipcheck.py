"""Zip-bomb check for the OOXML loaders (.xlsx, .pptx), before any part is inflated.

Same signature and rule as `ragstream.ingest.limits.check_zip` (issue 14), which will
replace this module: switching is changing the import in xlsx.py and pptx.py. The sizes
checked are those the zip declares; zipfile never yields more than a part's declared
size (more fails its CRC), so bounding them bounds what a parser can be fed.
"""

from __future__ import annotations

import io
import zipfile

from ragstream.errors import LoaderError

MiB = 1024 * 1024
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_TOTAL_BYTES = 256 * MiB  # all parts inflated
ZIP_MAX_RATIO = 200  # inflated/compressed size of a part over 1 MiB; real XML is ~5-30


def check_zip(data: bytes, kind: str) -> None:
    """Refuse an OOXML file whose parts would inflate past the caps (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoaderError(f"not a readable {kind} (not a zip file: {exc})") from None
    if len(entries) > ZIP_MAX_ENTRIES:
        raise LoaderError(f"over {ZIP_MAX_ENTRIES:,} parts in the {kind}: re-save it")
    total = 0
    for entry in entries:
        size = entry.file_size
        total += size
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
