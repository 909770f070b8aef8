"""ingest.limits on small zips: the caps are module constants, lowered here."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest

from ragstream.errors import LoaderError
from ragstream.ingest import limits


def zipped(**parts: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name.replace("__", "/").replace("_xml", ".xml"), data)
    return buffer.getvalue()


def test_honest_parts_pass() -> None:
    limits.check_zip(zipped(word__document_xml=b"<w:p>some text</w:p>" * 100), "DOCX")


def test_a_part_over_the_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ZIP_MAX_XML_PART_BYTES", 1000)
    with pytest.raises(LoaderError, match=r"DOCX part word/document\.xml inflates to 0 MB"):
        limits.check_zip(zipped(word__document_xml=b"<a/>" * 300), "DOCX")


def test_a_high_ratio_part_is_a_bomb() -> None:
    data = zipped(word__document_xml=b"<w:p/>" * (2 * limits.MiB))  # 12 MiB of one tag
    with pytest.raises(LoaderError, match=r"inflates \d+x \(limit 200x\): looks like a zip bomb"):
        limits.check_zip(data, "DOCX")


def test_total_and_entry_count_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ZIP_MAX_TOTAL_BYTES", 500)
    with pytest.raises(LoaderError, match="over the 0 MB limit: split it"):
        limits.check_zip(zipped(a_xml=b"x" * 300, b_xml=b"y" * 300), "XLSX")
    monkeypatch.setattr(limits, "ZIP_MAX_ENTRIES", 1)
    with pytest.raises(LoaderError, match="over 1 parts in the PPTX"):
        limits.check_zip(zipped(a_xml=b"x", b_xml=b"y"), "PPTX")


def test_not_a_zip() -> None:
    with pytest.raises(LoaderError, match=r"not a readable DOCX \(not a zip file"):
        limits.check_zip(b"PK\x03\x04 nope", "DOCX")


def test_time_budget_applies_only_inside_its_block() -> None:
    limits.check_time()  # no budget open: never fails
    with limits.file_budget(0.0), pytest.raises(LoaderError, match="took over 0 s"):
        limits.check_time()
    with limits.file_budget(60.0):
        limits.check_time()


def test_pdf_stream_bombs_are_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.ingest.hostile import pdf_small, pdf_stream_bomb

    with tempfile.TemporaryDirectory() as folder:
        bomb = pdf_stream_bomb(Path(folder) / "b.pdf", 2 * limits.MiB).read_bytes()
        small = pdf_small(Path(folder) / "s.pdf").read_bytes()
    limits.check_pdf_streams(small)
    limits.check_pdf_streams(bomb)  # 2 MB is under the real cap
    monkeypatch.setattr(limits, "PDF_MAX_STREAM_BYTES", limits.MiB)
    with pytest.raises(LoaderError, match=r"inflates to over 1 MB .*stream bomb"):
        limits.check_pdf_streams(bomb)
    monkeypatch.setattr(limits, "PDF_MAX_STREAM_BYTES", 4 * limits.MiB)
    monkeypatch.setattr(limits, "PDF_MAX_STREAMS_TOTAL_BYTES", limits.MiB)
    with pytest.raises(LoaderError, match="over 1 MB \\(the per-file limit\\)"):
        limits.check_pdf_streams(bomb)
