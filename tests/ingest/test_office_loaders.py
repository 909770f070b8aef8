"""Spreadsheets (.xlsx, .csv, .tsv), slides (.pptx) and mail (.eml), each built here
with the real library, including the bad inputs (zip bombs, encrypted files)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pptx
import pytest
from pptx.util import Inches

from ragstream.ingest.chunker import chunk_sections
from ragstream.ingest.loaders import load_document
from ragstream.ingest.loaders.rows import cell_text, column_name
from ragstream.models import locator
from tests.ingest.files import load, reason, write


class WordTokenizer:
    """Whitespace tokens: enough to drive the chunker without a model."""

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        import re

        return [m.span() for m in re.finditer(r"\S+", text)]


# --- rows -------------------------------------------------------------------------------
def test_cells_read_as_a_user_sees_them() -> None:
    assert cell_text(3.0) == "3" and cell_text(2.5) == "2.5" and cell_text(None) == ""
    assert cell_text(dt.datetime(2026, 1, 5)) == "2026-01-05"
    assert cell_text(dt.datetime(2026, 1, 5, 9, 30)) == "2026-01-05T09:30:00"
    assert cell_text(True) == "TRUE" and cell_text("two\nlines") == "two lines"
    assert [column_name(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


# --- csv / tsv --------------------------------------------------------------------------
def test_csv_rows_keep_their_header_names_and_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "sales.csv", "Region,Revenue,Note\nNorth,1.2M,\nSouth,0.9M,late\n")
    [section] = load(path)
    assert (
        section.text == "Region: North | Revenue: 1.2M\nRegion: South | Revenue: 0.9M | Note: late"
    )
    assert section.line == 2 and section.title is None


def test_semicolon_csv_is_sniffed_and_tsv_uses_tabs(tmp_path: Path) -> None:
    [semi] = load(write(tmp_path, "eu.csv", "Land;Preis\nDE;1,50\nFR;2,10\n"))
    assert semi.text.split("\n")[0] == "Land: DE | Preis: 1,50"
    [tsv] = load(write(tmp_path, "t.tsv", "a\tb\n1\t2, 3\n"))
    assert tsv.text == "a: 1 | b: 2, 3"


def test_csv_gaps_split_tables_and_quoted_newlines_keep_line_numbers(tmp_path: Path) -> None:
    text = 'k,v\nx,"multi\nline"\ny,2\n\n\n\nz,3\n'
    first, second = load(write(tmp_path, "g.csv", text))
    assert (first.line, first.text) == (2, "k: x | v: multi line\n\nk: y | v: 2")
    assert (second.line, second.text) == (8, "k: z | v: 3")


def test_chunks_of_a_csv_are_cited_by_rows(tmp_path: Path) -> None:
    rows = "".join(f"r{i},{i * 10}\n" for i in range(2, 202))
    sections = load(write(tmp_path, "big.csv", "name,value\n" + rows))
    chunks = chunk_sections("big.csv", sections, WordTokenizer(), max_tokens=60, overlap=0)
    assert len(chunks) > 3
    assert (chunks[0].line_start, chunks[-1].line_end) == (2, 201)
    for chunk in chunks:  # the first and last lines of each chunk are its rows
        assert chunk.line_start is not None and chunk.line_end is not None
        lines = chunk.text.split("\n")
        assert lines[0].startswith(f"name: r{chunk.line_start} ")
        assert lines[-1].startswith(f"name: r{chunk.line_end} ")
    where = locator("big.csv", None, None, (chunks[1].line_start, chunks[1].line_end))
    assert where.startswith("rows ") and "-" in where


# --- xlsx -------------------------------------------------------------------------------
def xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Q1"
    sheet.append(["Region", "Revenue", "Closed"])
    sheet.append(["North", 1200000.0, dt.datetime(2026, 3, 31)])
    sheet.append(["South", 950.5, None])
    sheet["A5"] = "=1+1"  # a formula: its cached value is what the user saw (none here)
    other = book.create_sheet("Staff")
    other.append(["Name", None, "Team"])
    other.append(["Ada", "x", "Core"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_sheets_rows_and_row_numbers(tmp_path: Path) -> None:
    q1, staff = load(write(tmp_path, "book.xlsx", xlsx_bytes()))
    assert q1.title == "Q1" and q1.line == 2
    assert q1.text.split("\n")[:2] == [
        "Region: North | Revenue: 1200000 | Closed: 2026-03-31",
        "Region: South | Revenue: 950.5",
    ]
    assert (staff.title, staff.line, staff.text) == ("Staff", 2, "Name: Ada | B: x | Team: Core")
    assert locator("book.xlsx", None, "Q1", (2, 3)) == "Q1 rows 2-3"


def bomb(kind: str, member: str) -> bytes:
    """A real document with one part that inflates 1000x (a zip bomb's signature)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        # 40 MiB: under the part-size cap, so the ratio rule is what refuses it
        archive.writestr(member, b"<x>" + b" " * (40 * 1024 * 1024) + b"</x>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "member"),
    [("bomb.xlsx", "xl/worksheets/sheet1.xml"), ("bomb.pptx", "ppt/slides/slide1.xml")],
)
def test_zip_bombs_are_refused_before_inflating(tmp_path: Path, name: str, member: str) -> None:
    data = bomb(name, member)
    assert len(data) < 1024 * 1024
    message = reason(write(tmp_path, name, data))
    assert "looks like a zip bomb" in message and member in message


@pytest.mark.parametrize("name", ["enc.xlsx", "enc.pptx"])
def test_encrypted_or_old_binary_office_files(tmp_path: Path, name: str) -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    assert "remove the password or re-save" in reason(write(tmp_path, name, data))


@pytest.mark.parametrize("name", ["junk.xlsx", "junk.pptx"])
def test_not_a_zip(tmp_path: Path, name: str) -> None:
    assert "not a zip file" in reason(write(tmp_path, name, b"just text, not a zip"))


# --- pptx -------------------------------------------------------------------------------
def pptx_bytes() -> bytes:
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    first.shapes.title.text = "Quarterly results"
    first.placeholders[1].text = "Revenue grew in the north."
    first.notes_slide.notes_text_frame.text = "Mention the new office."
    deck.slides.add_slide(deck.slide_layouts[6])  # blank: no text, no section
    third = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    third.shapes.title.text = "Headcount"
    table = third.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (r, c), text in {(0, 0): "Team", (0, 1): "People", (1, 0): "Core", (1, 1): "12"}.items():
        table.cell(r, c).text = text
    group = third.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1))
    box.text_frame.text = "Grouped footnote."
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def test_pptx_one_section_per_slide_with_notes(tmp_path: Path) -> None:
    first, third = load(write(tmp_path, "deck.pptx", pptx_bytes()))
    assert (first.page, first.title) == (1, "Quarterly results")
    assert first.text == (
        "Quarterly results\n\nRevenue grew in the north.\n\nNotes: Mention the new office."
    )
    assert (third.page, third.title) == (3, "Headcount")
    assert third.text == "Headcount\n\nTeam | People\nCore | 12\n\nGrouped footnote."
    assert locator("deck.pptx", 3, "Headcount", None) == "slide 3"


# --- eml --------------------------------------------------------------------------------
def eml_bytes(html_only: bool = False) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Server move on Friday"
    message["From"] = "Ops <ops@example.org>"
    message["To"] = "team@example.org"
    message["Date"] = "Fri, 04 Dec 2026 10:00:00 +0000"
    if html_only:
        message.set_content(
            "<html><body><p>The <b>move</b> starts at six.</p></body></html>", subtype="html"
        )
    else:
        message.set_content("The move starts at six.\nExpect ten minutes of downtime.\n")
        message.add_attachment(
            b"Step,Owner\nBackup,Ada\n", maintype="text", subtype="csv", filename="plan.csv"
        )
        message.add_attachment(b"GIF89a", maintype="image", subtype="gif", filename="map.gif")
        message.add_attachment(
            b"%PDF-1.4 broken", maintype="application", subtype="pdf", filename="bad.pdf"
        )
    return bytes(message)


def test_eml_headers_body_and_supported_attachments(tmp_path: Path) -> None:
    result = load_document(write(tmp_path, "move.eml", eml_bytes()))
    [mail] = result.sections
    [attachment] = (
        result.attachments
    )  # a document of its own (tests/ingest/test_eml_attachments.py)
    assert (attachment.name, attachment.size) == ("plan.csv", 22)
    [plan] = attachment.sections
    assert mail.title == "Server move on Friday"
    assert mail.text == (
        "Subject: Server move on Friday\nFrom: Ops <ops@example.org>\nTo: team@example.org\n"
        "Date: Fri, 04 Dec 2026 10:00:00 +0000\n\n"
        "The move starts at six.\nExpect ten minutes of downtime."
    )
    assert (plan.title, plan.text) == (
        "Server move on Friday > plan.csv",
        "Step: Backup | Owner: Ada",
    )
    assert len(result.warnings) == 1 and result.warnings[0].startswith("attachment bad.pdf: ")


def test_html_only_mail_is_read_as_text(tmp_path: Path) -> None:
    [mail] = load(write(tmp_path, "h.eml", eml_bytes(html_only=True)))
    assert mail.text.endswith("\n\nThe move starts at six.")


def test_mail_with_broken_headers_and_an_unknown_charset_still_loads(tmp_path: Path) -> None:
    raw = (
        b"Subject: =?x-unknown?q?caf=E9?=\nFrom: <<<not an address\nTo: ,,,\n"
        b"Content-Type: text/plain; charset=x-unknown\n\nBody caf\xe9.\n"
    )
    [mail] = load(write(tmp_path, "odd.eml", raw))
    assert mail.text.endswith("Body café.")


def test_a_header_only_csv_is_its_header(tmp_path: Path) -> None:
    [section] = load(write(tmp_path, "h.csv", "Region,Revenue\n"))
    assert (section.text, section.line) == ("Region | Revenue", 1)


def test_a_file_that_is_not_mail(tmp_path: Path) -> None:
    assert reason(write(tmp_path, "x.eml", b"\x00\x01\x02")).startswith(
        "not an e-mail message (no From"
    )
