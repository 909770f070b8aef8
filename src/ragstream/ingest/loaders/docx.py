"""Word (.docx) via python-docx: headings become section titles, tables are kept as
"cell | cell" lines in document order."""

from __future__ import annotations

import io
import re

import docx
from docx.document import Document as DocxDocument
from docx.table import Table
from docx.text.paragraph import Paragraph

from ragstream.errors import LoaderError
from ragstream.ingest.limits import check_time, check_zip
from ragstream.ingest.loaders.common import LoadResult, SectionBuilder, one_line
from ragstream.models import Section

# Encrypted .docx files and old binary .doc files are OLE compound files, not zips.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^Heading (\d)$")


def load_docx(data: bytes) -> LoadResult:
    if data.startswith(_OLE_MAGIC):
        raise LoaderError(
            "encrypted DOCX or old .doc file: remove the password or re-save it as .docx"
        )
    check_zip(data, "DOCX")  # before python-docx inflates and parses every part
    try:
        return LoadResult(_sections(docx.Document(io.BytesIO(data))))
    except LoaderError:
        raise
    except Exception as exc:  # python-docx raises zip, XML and key errors alike
        raise LoaderError(f"not a readable DOCX ({type(exc).__name__}: {one_line(exc)})") from None


def _sections(document: DocxDocument) -> list[Section]:
    # Style names by id, read once: `Paragraph.style` searches the styles part for every
    # paragraph (4 ms each here), which made a 300-paragraph file take over a second.
    style_names = {style.style_id: style.name or "" for style in document.styles}
    builder = SectionBuilder()
    for block in document.iter_inner_content():
        check_time()
        if isinstance(block, Paragraph):
            level = _heading_level(style_names.get(block._p.style or "", ""))
            if level is None:
                builder.text(block.text)
            else:
                builder.heading(level, block.text)
        elif isinstance(block, Table):
            builder.text(_table_text(block))
    return builder.finish()


def _heading_level(style_name: str) -> int | None:
    """0 for "Title" (above "Heading 1"), N for "Heading N", None for body text."""
    if style_name == "Title":
        return 0
    match = _HEADING_STYLE.match(style_name)
    return int(match.group(1)) if match else None


def _table_text(table: Table) -> str:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # A merged cell is repeated once per grid column it spans: keep it once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)
