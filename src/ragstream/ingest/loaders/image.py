"""Images (.png, .jpg/.jpeg, .tif/.tiff) read by OCR: one section per frame, page 1 for
a single image, page N for frame N of a multi-page TIFF (a fax or a scanner's output).

The size is checked from the header before any pixel is decoded (ocr.check_pixels), so
a 20k x 20k image costs a few kB of reading and a one-line refusal.
"""

from __future__ import annotations

import io
import re
import warnings as py_warnings
from collections.abc import Iterator

from PIL import Image, ImageSequence, UnidentifiedImageError

from ragstream.errors import LoaderError
from ragstream.ingest import ocr
from ragstream.ingest.limits import check_count
from ragstream.ingest.loaders.common import LoadResult, one_line
from ragstream.models import Section


def load_image(data: bytes) -> LoadResult:
    if ocr.mode() == "off":
        raise LoaderError(ocr.OFF)
    if not ocr.available():
        raise LoaderError(ocr.MISSING)
    try:
        with py_warnings.catch_warnings():
            # Our own pixel cap replaces Pillow's DecompressionBomb warning/error.
            py_warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            ocr.check_pixels(image.width, image.height)
            frames = getattr(image, "n_frames", 1)
            check_count(frames, ocr.OCR_MAX_PAGES, "image frames", "split the TIFF")
            texts = ocr.ocr_pages(_frames(image), frames)
    except Image.DecompressionBombError as exc:  # Pillow's own cap, above ours: from the header
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise LoaderError(
            f"image has {size}, over the {ocr.IMAGE_MAX_PIXELS // 1_000_000} MP limit: "
            "scale it down first"
        ) from None
    except UnidentifiedImageError:
        raise LoaderError("not a readable image (damaged, or not PNG, JPEG or TIFF)") from None
    except (OSError, ValueError) as exc:
        raise LoaderError(f"not a readable image ({one_line(exc)})") from None
    sections = [Section(text=t, page=n) for n, t in enumerate(texts, start=1) if t]
    if not sections:
        raise LoaderError("OCR found no text in the image")
    return LoadResult(sections)


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    for frame in ImageSequence.Iterator(image):
        ocr.check_pixels(frame.width, frame.height)  # each TIFF frame has its own size
        yield frame
