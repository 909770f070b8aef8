"""The PDF page view: a real PDF (fpdf2), rendered and marked by PDFium."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ragstream.app.viewer import MARK, cited_lines, pdf_page_png, word_runs


def make_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in (
        "Page one says nothing much.",
        "Key rotation. The API key is rotated every 90 days.",
    ):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def marked_pixels(png: bytes) -> int:
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    # The mark over white paper: red and green high, blue clearly lower.
    return int(((rgb[..., 0] > 240) & (rgb[..., 1] > 230) & (rgb[..., 2] < 200)).sum())


def test_the_cited_page_is_drawn_with_the_quote_marked(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "handbook.pdf")
    plain = pdf_page_png(pdf, 2, [])
    marked = pdf_page_png(pdf, 2, ["The API key is rotated every 90 days."])
    assert plain.startswith(b"\x89PNG") and marked_pixels(plain) == 0
    assert marked_pixels(marked) > 500
    assert marked_pixels(pdf_page_png(pdf, 1, ["The API key is rotated every 90 days."])) == 0
    assert MARK[3] < 255  # translucent: the text under the mark stays readable


def test_quotes_are_searched_in_runs_of_words() -> None:
    assert word_runs("a b c d e f g", 3) == ["a b c", "d e f", "g"]
    assert word_runs("  ") == []


def test_a_text_passage_is_found_by_its_lines(tmp_path: Path) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text("# Notes\n\n## Keys\n\nRotate keys\nevery 90 days.\n\n## Other\n")
    assert cited_lines(doc, "Rotate keys\nevery 90 days.") == (5, 6)
    assert cited_lines(doc, "not in the file") is None
    assert cited_lines(tmp_path / "missing.md", "x") is None
