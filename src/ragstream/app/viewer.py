"""The cited page of a PDF, drawn as an image with the cited text marked.

PDFium renders the page and finds the quoted text on it; the marks are its text
rectangles, filled translucent yellow. A quote is searched in runs of a few words,
because the PDF breaks lines (and hyphenates) where the chunk text does not.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

SCALE = 1.6  # ~115 dpi: readable in the sources column, small as a PNG
RUN_WORDS = 5
MARK = (255, 230, 0, 110)  # RGBA


def word_runs(quote: str, size: int = RUN_WORDS) -> list[str]:
    """The quote as consecutive runs of `size` words (the last run may be shorter)."""
    words = quote.split()
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


def pdf_page_png(path: Path, page: int, quotes: Sequence[str], scale: float = SCALE) -> bytes:
    """PNG of `page` (1-based) of the PDF at `path`, with each quote marked where found."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(path))
    try:
        pdf_page = pdf[page - 1]
        image = pdf_page.render(scale=scale).to_pil().convert("RGBA")
        height = pdf_page.get_height()
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        textpage = pdf_page.get_textpage()
        for run in (r for quote in quotes for r in word_runs(quote)):
            searcher = textpage.search(run, match_case=False)
            while (found := searcher.get_next()) is not None:
                start, count = found
                for i in range(textpage.count_rects(start, count)):
                    left, bottom, right, top = textpage.get_rect(i)
                    box = (
                        left * scale,
                        (height - top) * scale,
                        right * scale,
                        (height - bottom) * scale,
                    )
                    draw.rectangle(box, fill=MARK)
        marked = Image.alpha_composite(image, overlay).convert("RGB")
        out = io.BytesIO()
        marked.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        pdf.close()


def cited_lines(path: Path, passage: str) -> tuple[int, int] | None:
    """(first, last) line of a text file that hold the passage, if it is found there."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in passage.splitlines() if line.strip()]
    if not lines:
        return None
    start = text.find(lines[0])
    if start < 0:
        return None
    end = text.find(lines[-1], start)
    end = start + len(lines[0]) if end < 0 else end + len(lines[-1])
    return text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
