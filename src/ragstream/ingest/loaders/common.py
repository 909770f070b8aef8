"""What every loader shares: the result type, text decoding, and heading-aware sections."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from ragstream.errors import LoaderError
from ragstream.models import Section

SNIFF_BYTES = 8192
# Control characters other than tab, newline, carriage return and form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
LEGACY_WARNING = (
    "not UTF-8: read as Windows-1252 (Western European); "
    "re-save the file as UTF-8 if its text looks wrong"
)


@dataclass
class Attachment:
    """A document inside another (an e-mail's attachment), loaded by its own loader: the
    pipeline stores it as a document of its own, keyed `<parent key>#<name>`."""

    name: str
    sha256: str  # of its bytes: a changed attachment is re-indexed, an unchanged one not
    size: int
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    """The sections of one document, plus warnings the caller may show (e.g. encoding),
    plus the documents it carries (an e-mail's attachments)."""

    sections: list[Section]
    warnings: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def decode_text(data: bytes, kind: str) -> tuple[str, list[str]]:
    """Decode a text file the way a user expects, refusing binary content.

    UTF-8 (with or without BOM) and BOM-marked UTF-16 decode silently. Anything else is
    read as Windows-1252, a superset of Latin-1 that is by far the commonest legacy
    encoding of Western text, with a warning: a guess beats refusing the file, and
    statistical detectors mislabel short Latin-1 texts (charset-normalizer says cp1250
    for plain French). Bytes cp1252 leaves undefined fall back to Latin-1.
    """
    warnings: list[str] = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoaderError(f"binary content in a {kind} file (broken UTF-16)") from None
    elif b"\x00" in data[:SNIFF_BYTES]:
        raise LoaderError(f"binary content in a {kind} file")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = decode_legacy(data)
            warnings.append(LEGACY_WARNING)
    sample = text[:SNIFF_BYTES]
    if sample and len(_CONTROL.findall(sample)) > len(sample) * 0.05:
        raise LoaderError(f"binary content in a {kind} file")
    return normalize_newlines(text), warnings


def decode_legacy(data: bytes) -> str:
    """Windows-1252, or Latin-1 for the five bytes Windows-1252 leaves undefined."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def one_line(exc: BaseException, limit: int = 160) -> str:
    """A library's error message as one short line, for a LoaderError reason."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def tidy(text: str) -> str:
    """Strip the ends and collapse runs of blank lines into one blank line."""
    return _BLANK_RUNS.sub("\n\n", text).strip()


class SectionBuilder:
    """Collects headings and body text into Sections titled by their heading path.

    A section's text starts with its heading, so the words of the heading are searchable
    and the chunk reads naturally; its title is the path "Deploy > Start script".
    Headings with no body of their own (only subsections) produce no section.
    """

    def __init__(self, root_title: str | None = None) -> None:
        self._stack: list[tuple[int, str]] = []
        self._root_title = root_title
        self._heading: str | None = None
        self._blocks: list[str] = []
        self.sections: list[Section] = []

    def heading(self, level: int, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        self._flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        self._heading = text

    def text(self, block: str) -> None:
        if block.strip():
            self._blocks.append(block)

    def finish(self) -> list[Section]:
        self._flush()
        return self.sections

    def _flush(self) -> None:
        body = tidy("\n\n".join(self._blocks))
        self._blocks = []
        if not body:
            return
        title = " > ".join(t for _, t in self._stack) or self._root_title
        text = f"{self._heading}\n\n{body}" if self._heading else body
        self.sections.append(Section(text=text, title=title))
