"""PowerPoint decks (.pptx) via python-pptx: one section per slide (`page` = slide
number, cited as `deck.pptx slide 3`), titled by the slide title; text frames, tables
and grouped shapes in reading order, then the speaker notes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.shapes.base import BaseShape

from ragstream.errors import LoaderError
from ragstream.ingest.limits import check_zip
from ragstream.ingest.loaders.common import LoadResult, one_line, tidy
from ragstream.models import Section

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_SLIDES = 5_000


def load_pptx(data: bytes) -> LoadResult:
    if data.startswith(_OLE_MAGIC):
        raise LoaderError(
            "encrypted PPTX or old .ppt file: remove the password or re-save as .pptx"
        )
    check_zip(data, "PPTX")
    try:
        deck = pptx.Presentation(io.BytesIO(data))
        sections: list[Section] = []
        for number, slide in enumerate(deck.slides, start=1):
            if number > MAX_SLIDES:
                return LoadResult(sections, [f"only the first {MAX_SLIDES:,} slides were indexed"])
            title_shape = slide.shapes.title
            title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
            blocks = list(_texts(slide.shapes))
            if slide.has_notes_slide:
                notes = slide.notes_slide.notes_text_frame
                if notes is not None and notes.text.strip():
                    blocks.append(f"Notes: {notes.text.strip()}")
            text = tidy("\n\n".join(blocks))
            if text:
                sections.append(Section(text=text, page=number, title=title or None))
    except LoaderError:
        raise
    except Exception as exc:  # python-pptx raises zip, XML and key errors alike
        raise LoaderError(f"not a readable PPTX ({type(exc).__name__}: {one_line(exc)})") from None
    return LoadResult(sections)


def _texts(shapes: Iterable[BaseShape]) -> Iterator[str]:
    """Shape texts top to bottom, left to right; groups opened (iteratively: a deck may
    nest groups deeply)."""
    stack = [sorted(shapes, key=_position, reverse=True)]
    while stack:
        if not stack[-1]:
            stack.pop()
            continue
        shape = stack[-1].pop()
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            stack.append(sorted(shape.shapes, key=_position, reverse=True))  # type: ignore[attr-defined]
        elif getattr(shape, "has_table", False):
            rows = shape.table.rows  # type: ignore[attr-defined]
            lines = [
                " | ".join(c.text.strip() for c in row.cells if c.text.strip()) for row in rows
            ]
            yield "\n".join(line for line in lines if line)
        elif getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():  # type: ignore[attr-defined]
            yield shape.text_frame.text.strip()  # type: ignore[attr-defined]


def _position(shape: BaseShape) -> tuple[int, int]:
    return (shape.top or 0, shape.left or 0)
