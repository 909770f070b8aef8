"""CSV and TSV (.csv, .tsv): rows kept with their header names, cited by row range.

The delimiter is the suffix's (comma or tab), or for .csv whatever csv.Sniffer finds in
the first lines (semicolons are common where the comma is the decimal mark). A quoted
cell may span lines; its row is then cited by the line it starts on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from ragstream.errors import LoaderError
from ragstream.ingest.loaders.common import LoadResult, decode_text
from ragstream.ingest.loaders.rows import MAX_ROWS, row_sections

csv.field_size_limit(16 * 1024 * 1024)  # one huge cell is text, not an error


def load_csv(data: bytes) -> LoadResult:
    return _load(data, ".csv", None)


def load_tsv(data: bytes) -> LoadResult:
    return _load(data, ".tsv", "\t")


def _load(data: bytes, kind: str, delimiter: str | None) -> LoadResult:
    text, warnings = decode_text(data, kind)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    sections, cut = row_sections(_rows(text, delimiter), None)
    if cut:
        warnings.append(f"only the first {MAX_ROWS:,} rows were indexed")
    return LoadResult(sections, warnings)


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise LoaderError(f"not a readable CSV at line {reader.line_num} ({exc})") from None
