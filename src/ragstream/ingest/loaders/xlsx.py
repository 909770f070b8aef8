"""Excel workbooks (.xlsx) via openpyxl in read-only mode: one run of sections per sheet,
titled by the sheet name, rows kept with their header names and cited by row range
(`sales.xlsx Q1 rows 2-40`).

Read-only mode streams the sheet XML instead of building every cell object, and
`data_only` reads the values formulas last computed (what the user saw), not formulas.
Hidden sheets are indexed too: they often hold the lookup tables answers need.
"""

from __future__ import annotations

import io
import itertools
import warnings

import openpyxl

from ragstream.errors import LoaderError
from ragstream.ingest.limits import check_zip
from ragstream.ingest.loaders.common import LoadResult, one_line
from ragstream.ingest.loaders.rows import MAX_ROWS, row_sections
from ragstream.models import Section

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def load_xlsx(data: bytes) -> LoadResult:
    if data.startswith(_OLE_MAGIC):
        raise LoaderError(
            "encrypted XLSX or old .xls file: remove the password or re-save as .xlsx"
        )
    check_zip(data, "XLSX")
    try:
        with warnings.catch_warnings():  # openpyxl warns about styles and extensions
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike
        raise LoaderError(f"not a readable XLSX ({type(exc).__name__}: {one_line(exc)})") from None
    sections: list[Section] = []
    notes: list[str] = []
    budget = MAX_ROWS
    try:
        for sheet in book.worksheets:
            numbered = enumerate(sheet.iter_rows(values_only=True), start=1)
            rows = itertools.islice(numbered, budget + 1)  # one more: row_sections sees the cut
            found, cut = row_sections(rows, sheet.title)
            sections.extend(found)
            budget -= sheet.max_row or 0
            if cut or budget <= 0:
                notes.append(f"only the first {MAX_ROWS:,} rows were indexed")
                break
    except Exception as exc:
        raise LoaderError(f"not a readable XLSX ({type(exc).__name__}: {one_line(exc)})") from None
    finally:
        book.close()
    return LoadResult(sections, notes)
