"""OCR of scanned PDFs and images with the real engine (libtesseract in the tesserocr wheel,
a dependency; Debian's `tesseract` command, installed by scripts/setup-dev, as the
fallback): pages rendered here with Pillow, ingested through the workspace, found by
search with their page; `ocr = "off"`, a missing engine, an oversized image and a broken
image each give one line and spoil nothing else."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ragstream.errors import LoaderError
from ragstream.ingest import limits, loaders, ocr
from ragstream.ingest.report import IngestProgress
from ragstream.models import locator
from ragstream.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def page(*lines: str, size: tuple[int, int] = (1240, 1754)) -> Image.Image:
    """A page of text as a scanner would give it: pixels only, no text layer."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=34)  # Pillow's own font: no system font needed
    for i, line in enumerate(lines):
        draw.text((100, 150 + i * 70), line, fill=0, font=font)
    return image


PAGE_1 = page("The first page is about backups and restores.", "Copies are checked by size.")
PAGE_2 = page("The second page names the zeppelin hangar.", "Its doors open at midnight.")
SECOND = "The second page names the zeppelin hangar. Its doors open at midnight."


def scanned_pdf(*pages: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # A copy: Pillow keeps a saved image's options (append_images!) for its next save.
    pages[0].copy().save(
        buffer, "PDF", save_all=True, append_images=list(pages[1:]), resolution=150
    )
    return buffer.getvalue()


def image_bytes(image: Image.Image, kind: str, *more: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.copy().save(
        buffer, kind, **({"save_all": True, "append_images": list(more)} if more else {})
    )
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scans")
    (folder / "scan.pdf").write_bytes(scanned_pdf(PAGE_1, PAGE_2))
    (folder / "note.png").write_bytes(image_bytes(page("A parrot called Oskar."), "PNG"))
    (folder / "photo.jpg").write_bytes(image_bytes(page("The walrus sleeps on ice."), "JPEG"))
    fax = image_bytes(page("Fax cover sheet."), "TIFF", page("The pelican invoice is due."))
    (folder / "fax.tiff").write_bytes(fax)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (folder / "plain.txt").write_text("A text file beside the scans.\n")
    return folder


def ingest(tmp_path: Path, corpus: Path, **settings: str) -> tuple[Workspace, dict[str, str]]:
    workspace = Workspace.open(workspace=tmp_path / "ws", **settings)
    events: list[IngestProgress] = []
    report = workspace.ingest([corpus], progress=events.append)
    got = {Path(f.path).name: f"{f.status}: {f.reason}" for f in report.files}
    got["events"] = json.dumps(
        [e.detail for e in events if e.stage == "ocr" and e.path.endswith(".pdf")]
    )
    return workspace, got


@pytest.fixture(scope="module")
def ocred(
    tmp_path_factory: pytest.TempPathFactory, corpus: Path
) -> Iterator[tuple[Workspace, dict[str, str]]]:
    workspace, got = ingest(tmp_path_factory.mktemp("auto"), corpus)
    yield workspace, got
    workspace.close()


def cited(workspace: Workspace, query: str) -> str:
    hit = workspace.search(query, k=1, mode="bm25")[0]
    chunk = hit.chunk
    return f"{Path(chunk.path).name} {locator(chunk.path, chunk.page, None, None)}"


def test_a_scanned_pdf_is_ocred_and_cited_by_page(ocred: tuple[Workspace, dict[str, str]]) -> None:
    workspace, got = ocred
    assert got["scan.pdf"] == "ingested: "
    assert cited(workspace, "zeppelin hangar") == "scan.pdf p.2"
    assert cited(workspace, "backups restores") == "scan.pdf p.1"
    assert json.loads(got["events"]) == ["page 1 of 2", "page 2 of 2"]  # progress per page


@pytest.mark.parametrize(
    ("name", "query", "where"),
    [
        ("note.png", "parrot Oskar", "p.1"),
        ("photo.jpg", "walrus", "p.1"),
        ("fax.tiff", "pelican invoice", "p.2"),
    ],
)
def test_images_are_ocred_and_cited_by_page(
    ocred: tuple[Workspace, dict[str, str]], name: str, query: str, where: str
) -> None:
    workspace, got = ocred
    assert got[name] == "ingested: "
    assert cited(workspace, query) == f"{name} {where}"


def test_a_broken_image_fails_alone(ocred: tuple[Workspace, dict[str, str]]) -> None:
    _, got = ocred
    assert got["broken.png"].startswith("failed: not a readable image")
    assert got["plain.txt"] == "ingested: "


def test_ocr_off_leaves_scans_and_images_unindexed_with_a_reason(
    tmp_path: Path, corpus: Path
) -> None:
    workspace, got = ingest(tmp_path, corpus, ocr="off")
    workspace.close()
    for name in ("scan.pdf", "note.png", "photo.jpg", "fax.tiff"):
        assert got[name].startswith("failed: ") and 'ocr = "off"' in got[name], got[name]
    assert got["plain.txt"] == "ingested: "
    assert json.loads(got["events"]) == []


def test_the_library_reads_with_the_model_its_dependency_installs() -> None:
    argv = ocr.command("page.png")
    assert argv is not None and argv[0] == sys.executable  # tesserocr, not the command
    assert argv[-2] == ocr.tessdata() and Path(argv[-2], ocr.MODEL).is_file()
    assert " ".join(ocr.ocr_pages([PAGE_2], 1)[0].split()) == SECOND


@pytest.mark.skipif(shutil.which(ocr.COMMAND) is None, reason="no tesseract command")
def test_without_the_library_the_tesseract_command_reads_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ocr, "LIBRARY", "no_such_module_here")
    argv = ocr.command("page.png")
    assert argv is not None and argv[0] == ocr.COMMAND
    assert " ".join(ocr.ocr_pages([PAGE_2], 1)[0].split()) == SECOND


def test_the_child_runs_under_its_memory_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "MEMORY_MAX_BYTES", 64 << 20)  # too little for libtesseract
    with pytest.raises(LoaderError, match=r"^OCR failed \(.*(bad_alloc|MemoryError|failed to map)"):
        ocr.ocr_pages([PAGE_1], 1)


def test_a_page_that_outlives_its_time_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    hung = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(ocr, "command", lambda png: hung)
    started = time.monotonic()
    with (
        limits.file_budget(ocr.SECONDS_RESERVED + 1.5),
        pytest.raises(LoaderError, match="time budget"),
    ):
        ocr.ocr_pages([PAGE_1], 1)
    assert time.monotonic() - started < 10


def test_without_the_engine_auto_says_what_to_install_and_force_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(ocr, "LIBRARY", "no_such_module_here")
    mixed = _mixed_pdf()
    with ocr.ocr_context("auto"):
        with pytest.raises(LoaderError, match="apt-get install tesseract-ocr"):
            loaders.load_bytes(".png", image_bytes(PAGE_1, "PNG"))
        with pytest.raises(LoaderError, match=r"no extractable text.*tesseract-ocr"):
            loaders.load_bytes(".pdf", scanned_pdf(PAGE_1, PAGE_2))
        loaded = loaders.load_bytes(".pdf", mixed)  # its text page is kept, the scan named
        assert [s.page for s in loaded.sections] == [1]
        assert loaded.warnings == [f"1 page(s) without text not OCRed: {ocr.MISSING}"]
    with ocr.ocr_context("force"), pytest.raises(LoaderError, match="tesseract-ocr"):
        loaders.load_bytes(".pdf", mixed)


def _mixed_pdf() -> bytes:
    """Page 1 with a text layer, page 2 a scan."""
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 6, "This page has a real text layer about the lighthouse keeper.")
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(bytes(pdf.output()))))
    writer.append(PdfReader(io.BytesIO(scanned_pdf(PAGE_2))))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_force_ocrs_text_pages_too_and_auto_only_the_scans() -> None:
    mixed = _mixed_pdf()
    seen: list[tuple[int, int]] = []
    with ocr.ocr_context("auto", lambda n, count: seen.append((n, count))):
        loaded = loaders.load_bytes(".pdf", mixed)
    assert seen == [(1, 1)]  # only the scanned page went to OCR
    assert "lighthouse" in loaded.sections[0].text and "zeppelin" in loaded.sections[1].text
    seen.clear()
    with ocr.ocr_context("force", lambda n, count: seen.append((n, count))):
        loaders.load_bytes(".pdf", mixed)
    assert seen == [(1, 2), (2, 2)]


def test_a_20k_by_20k_image_is_refused_from_its_header_with_bounded_memory(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    Image.new("1", (20_000, 20_000), 1).save(huge)  # 400 MP, a few kB on disk
    script = (
        "import sys\n"
        "from ragstream.ingest import loaders\n"
        "from ragstream.errors import LoaderError\n"
        "try:\n"
        "    loaders.load_document(__import__('pathlib').Path(sys.argv[1]))\n"
        "except LoaderError as exc:\n"
        "    print(exc)\n"
        # VmHWM, not ru_maxrss: that one keeps the forking parent's peak across exec.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(hwm.split()[1]) // 1024)\n"
    )
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(huge)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    reason, peak_mb = done.stdout.strip().splitlines()
    assert reason == "image has 400,000,000 pixels, over the 64 MP limit: scale it down first"
    assert int(peak_mb) < 100, peak_mb  # the pixels (400 MB as 8-bit gray) were never decoded


def test_an_image_between_the_caps_is_refused_by_ours() -> None:
    data = image_bytes(Image.new("1", (10_000, 7_000), 1), "PNG")  # 70 MP: Pillow allows it
    with pytest.raises(LoaderError, match=r"has 70,000,000 pixels \(10,000 x 7,000\), over"):
        loaders.load_bytes(".png", data)


def test_large_pages_are_downscaled_before_ocr() -> None:
    image = Image.new("RGB", (6000, 4000), "white")  # 24 MP, under the refusal limit
    bounded = ocr._bounded(image)
    assert bounded.mode == "L" and bounded.width * bounded.height <= ocr.OCR_MAX_PIXELS
    assert abs(bounded.width / bounded.height - 1.5) < 0.01


def test_ocr_stops_before_the_file_budget_ends_and_keeps_the_pages_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow_engine(image: Image.Image, path: str) -> str:  # the budget logic, not the engine
        time.sleep(2.5)
        return "A page of text that was read before the time ran out."

    monkeypatch.setattr(ocr, "_ocr_one", slow_engine)
    with ocr.ocr_context("auto"), limits.file_budget(ocr.SECONDS_RESERVED + 2.0):
        loaded = loaders.load_bytes(".pdf", scanned_pdf(PAGE_1, PAGE_2, PAGE_1))
    assert [s.page for s in loaded.sections] == [1]
    assert loaded.warnings == ["OCR stopped at page 2: the per-file time budget ran out during OCR"]


def test_the_ocr_setting_is_checked_where_it_is_read() -> None:
    from ragstream.config import Settings, load_settings
    from ragstream.errors import ConfigError

    assert load_settings(env={"RAGSTREAM_OCR": "off"}).ocr == "off"
    with pytest.raises(ConfigError, match="ocr='sometimes' is not one of auto, off, force"):
        Settings(ocr="sometimes")
