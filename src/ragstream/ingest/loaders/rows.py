"""Table rows as text for the spreadsheet loaders (.xlsx, .csv, .tsv).

Each data row becomes one line that names its columns, `Region: North | Revenue: 1.2M`,
so a chunk of rows still reads right without the header row. A section is a run of rows,
one text line per sheet row, with `line` set to the row number of its first line, so a
chunk is cited by its rows (`sales.xlsx Q1 rows 2-40`). A gap of more than one empty row
starts a new section (blank runs in a sheet separate tables).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from ragstream.models import Section

MAX_ROWS = 1_000_000  # per file: beyond this a sheet is a database, not a document
MAX_CELL_CHARS = 2_000


def cell_text(value: object) -> str:
    """A cell as a user would read it: 3 not 3.0, dates without midnight, one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())[:MAX_CELL_CHARS]


def column_name(index: int) -> str:
    """Spreadsheet letters for an unnamed column: 0 -> A, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def row_sections(
    rows: Iterable[tuple[int, Sequence[object]]], title: str | None
) -> tuple[list[Section], bool]:
    """Sections from (row number, cells) pairs, the first non-empty row being the header;
    and whether MAX_ROWS cut the table short."""
    header: list[str] | None = None
    sections: list[Section] = []
    lines: list[str] = []
    first = last = header_row = 0
    count = 0

    def close() -> None:
        if lines:
            sections.append(Section(text="\n".join(lines), title=title, line=first))
            lines.clear()

    for number, cells in rows:
        count += 1
        if count > MAX_ROWS:
            close()
            return sections, True
        texts = [cell_text(c) for c in cells]
        if not any(texts):
            continue
        if header is None:
            header = [t or column_name(i) for i, t in enumerate(texts)]
            header_row = number
            continue
        line = " | ".join(
            f"{header[i] if i < len(header) else column_name(i)}: {t}"
            for i, t in enumerate(texts)
            if t
        )
        if lines and number - last > 2:
            close()
        if not lines:
            first = number
        else:
            lines.extend([""] * (number - last - 1))  # one empty row: a blank line
        lines.append(line)
        last = number
    close()
    if not sections and header is not None:  # a header row alone is still text
        sections.append(Section(text=" | ".join(header), title=title, line=header_row))
    return sections, False
