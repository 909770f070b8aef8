"""PDF page cleaning (ragstream.ingest.clean_pdf) on page texts, then through the PDF
loader on a real PDF with running headers, footers, a TOC page and an index page."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from ragstream.ingest.clean_pdf import (
    clean_pages,
    is_toc_or_index_page,
    join_lines,
    running_line_indexes,
)
from tests.ingest.files import load

BODY = [
    "The backup tool copies each file into the target folder and then compares the",
    "sizes, so that a partial copy is noticed at once and retried with a longer time-",
    "out. Every run writes a log line.",
    "Restores work the other way round: the chosen snapshot is copied back into an",
    "empty folder.",
]


def page(n: int, body: list[str]) -> str:
    return "\n".join([f"Chapter 3: Utilities {n + 6}", *body, "Tiny Backup Manual", str(n)])


def test_running_header_with_page_number_footer_and_page_number_are_found() -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    pages = [page(n, [f"A body line about {w} that is long enough to be a body line."])
             for n, w in enumerate(words, start=1)]  # fmt: skip
    running = running_line_indexes([p.split("\n") for p in pages])
    assert running == [{0, 2, 3}] * 5


def test_a_heading_that_changes_from_page_to_page_is_not_running() -> None:
    headings = ["Installing", "Configuring", "Backing up", "Restoring", "Uninstalling"]
    pages = [f"{h}\nSome text about {h.lower()} that fills one line of the page." for h in headings]
    assert running_line_indexes([p.split("\n") for p in pages]) == [set()] * 5


def test_numbered_headings_out_of_step_with_the_pages_are_kept() -> None:
    pages = [f"Rule {r}\nThe text of rule {r}, which says what a member must do."
             for r in (4, 9, 17, 18, 30)]  # fmt: skip
    assert running_line_indexes([p.split("\n") for p in pages]) == [set()] * 5


def test_toc_and_index_pages() -> None:
    toc = [
        "Table of Contents",
        *(f"{i} Section {i} . . . . . . . . . . . {i * 3}" for i in range(8)),
    ]
    index = ["Index", *(f"term{i}, {i}, {i + 20}-{i + 22}" for i in range(10))]
    issue = [f"20 asn1_der_decoding{i} . . . . . . . . . . [4]" for i in range(6)]
    assert is_toc_or_index_page(toc) and is_toc_or_index_page(index) and is_toc_or_index_page(issue)
    assert not is_toc_or_index_page(BODY)
    assert not is_toc_or_index_page(["Revenue by year", "2021 was a good year with 12", "x"])
    table = ["Revenue by region", *(f"Region {r} 1200 1350 1500 1650" for r in "ABCDEFGH")]
    assert not is_toc_or_index_page(table)


def test_wrapped_lines_and_hyphenation_are_joined_and_paragraphs_kept() -> None:
    assert join_lines(BODY) == (
        "The backup tool copies each file into the target folder and then compares the "
        "sizes, so that a partial copy is noticed at once and retried with a longer timeout. "
        "Every run writes a log line.\n\n"
        "Restores work the other way round: the chosen snapshot is copied back into an "
        "empty folder."
    )


def test_list_items_headings_and_table_rows_stay_on_their_own_lines() -> None:
    lines = [
        "Options that change what the tool copies from the source folder each night:",
        "• --exclude PATTERN skips files whose names match the pattern given here",
        "• --since DATE copies only the files that changed after the given date",
        "Region North      1200      1350      1500      1650      1800      1950",
        "Region South       900      1000      1100      1200      1300      1400",
    ]
    assert [x for x in join_lines(lines).split("\n") if x] == [" ".join(x.split()) for x in lines]


def test_clean_pages_drops_toc_pages_and_running_lines() -> None:
    toc = "Contents\n" + "\n".join(f"Part {i} ........ {i}" for i in range(1, 7))
    tools = ["rsync", "tar", "borg", "restic"]
    pages = [toc, *(page(n, [f"Using {t}:", *BODY]) for n, t in enumerate(tools, start=2))]
    cleaned = clean_pages(pages)
    assert cleaned[0] == ""
    for text, tool in zip(cleaned[1:], tools, strict=True):
        assert text.startswith(f"Using {tool}:\n\nThe backup tool") and text.endswith(
            "empty folder."
        )


def test_pdf_loader_indexes_prose_only(tmp_path: Path) -> None:
    class Manual(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", size=9)
            self.cell(0, 5, f"Tiny Manual - Chapter 3: Utilities {self.page_no() + 6}")
            self.ln(8)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 10, str(self.page_no()), align="C")

    pdf = Manual()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(
        0, 6, "Contents\n" + "\n".join(f"Part {i} " + ". " * 30 + str(i) for i in range(9))
    )
    topics = ["copies files", "checks sizes", "retries copies", "writes logs"]
    for topic in topics:
        pdf.add_page()
        pdf.multi_cell(0, 6, f"The tool {topic} and " + "keeps going while the disk has room. " * 6)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Index\n" + "\n".join(f"topic{i}, {i + 2}, {i + 5}" for i in range(12)))
    path = tmp_path / "manual.pdf"
    pdf.output(str(path))
    sections = load(path)
    assert [s.page for s in sections] == [2, 3, 4, 5]
    for section, topic in zip(sections, topics, strict=True):
        assert section.text.startswith(f"The tool {topic} and keeps going")
        assert "\n" not in section.text  # one wrapped paragraph, joined
        assert "Utilities" not in section.text and not section.text.rstrip(".").endswith(
            str(section.page)
        )
