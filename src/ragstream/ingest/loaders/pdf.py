"""PDF (.pdf) via pypdfium2: one section per page that has text, `page` 1-based.

PDFium is fast (0.10 s for 50 pages here, against 0.37 s for pypdf) and permissively
licensed. Its handles are not thread-safe: load PDFs from one thread at a time.
"""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ragstream.errors import LoaderError
from ragstream.ingest.loaders.common import LoadResult, normalize_newlines, one_line, tidy
from ragstream.models import Section

# PDFium marks soft hyphens and unmapped glyphs with control or non-characters.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OPEN_ERRORS = {
    pdfium_c.FPDF_ERR_PASSWORD: "encrypted PDF: decrypt it first (qpdf --decrypt) or remove it",
    pdfium_c.FPDF_ERR_SECURITY: "PDF uses an unsupported security handler: "
    "decrypt it first (qpdf --decrypt) or remove it",
    pdfium_c.FPDF_ERR_FORMAT: "not a readable PDF (damaged or not a PDF at all)",
}


def load_pdf(data: bytes) -> LoadResult:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        raise LoaderError(_OPEN_ERRORS.get(code, f"not a readable PDF ({one_line(exc)})")) from None
    sections: list[Section] = []
    warnings: list[str] = []
    try:
        for number in range(1, len(document) + 1):
            try:
                text = _page_text(document, number - 1)
            except pdfium.PdfiumError as exc:  # one broken page never loses the others
                warnings.append(f"page {number}: text could not be extracted ({one_line(exc)})")
                continue
            if text:
                sections.append(Section(text=text, page=number))
    finally:
        document.close()
    if not sections:
        raise LoaderError("no extractable text (scanned?): run OCR on it first (ocrmypdf)")
    return LoadResult(sections, warnings)


def _page_text(document: pdfium.PdfDocument, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            raw = textpage.get_text_bounded()
        finally:
            textpage.close()
    finally:
        page.close()
    return tidy(_JUNK.sub("", normalize_newlines(raw)))
