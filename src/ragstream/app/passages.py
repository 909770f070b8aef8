"""Pure helpers for showing a cited passage: labels, and the sentences to highlight.

A passage is shown with the sentences that back the answer marked. Offline answers copy
sentences verbatim, so exact containment finds them; an LLM paraphrases, so a sentence
also counts when most of its content words appear in the answer text citing it.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePosixPath

from ragstream.generate.events import Source
from ragstream.models import ROW_SUFFIXES, SLIDE_SUFFIXES, locator
from ragstream.text import content_words, sentence_spans

_MARKER = re.compile(r"\[(\d+)\]")
MIN_OVERLAP = 0.6  # share of a sentence's content words found in the answer


def document_name(path: str) -> str:
    """The one name a document goes by on the page (table, sources, remove, citations):
    its file name; the workspace-relative key is an internal detail."""
    return PurePosixPath(path).name or path


def source_label(
    path: str, page: int | None, title: str | None = None, lines: tuple[int, int] | None = None
) -> str:
    """`report.pdf p.3`, `ssh.1.txt L120-145` or `notes.md § Setup`: short enough for a
    button."""
    name = document_name(path)
    if lines is not None or path.lower().endswith(SLIDE_SUFFIXES):
        title = title if path.lower().endswith(ROW_SUFFIXES) else None  # a sheet's name
        return f"{name} {locator(path, page, title, lines)}".rstrip()
    if page is not None:
        return f"{name} p.{page}"
    if title:
        return f"{name} § {title}"
    return name


def citation_labels(cited: Sequence[Source]) -> list[str]:
    """Button labels for citations that tell them apart: `[1] guide.md § Setup`,
    `[2] ssh.txt L120-145`; where two would still read the same, each adds its opening
    words."""
    bases = [source_label(s.path, s.page, s.title, s.lines) for s in cited]
    counts = Counter(bases)
    labels = []
    for source, base in zip(cited, bases, strict=True):
        label = f"[{source.n}] {base}"
        if counts[base] > 1:
            label += f" · “{opening(source.text)}”"
        labels.append(label)
    return labels


def opening(text: str, max_chars: int = 28) -> str:
    """The first words of a passage, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= max_chars:
        return flat
    cut = flat[:max_chars].rsplit(" ", 1)[0] or flat[:max_chars]
    return cut.rstrip(",;:.") + "…"


def _content_words(text: str) -> set[str]:
    return set(content_words(text))


def supporting_text(answer: str, marker: int) -> str:
    """The answer sentences that cite `[marker]`; the whole answer if none does."""
    cited = [
        answer[s:e]
        for s, e in sentence_spans(answer)
        if str(marker) in _MARKER.findall(answer[s:e])
    ]
    return " ".join(cited) if cited else answer


def matching_sentences(passage: str, answer: str) -> list[tuple[int, int]]:
    """Spans of `passage` sentences that the answer quotes or closely restates."""
    answer_flat = " ".join(_MARKER.sub(" ", answer).split()).lower()
    answer_words = _content_words(answer_flat)
    found = []
    for start, end in sentence_spans(passage):
        sentence = passage[start:end]
        flat = " ".join(sentence.split()).lower()
        words = _content_words(flat)
        if not words:
            continue
        quoted = len(flat) >= 12 and flat.rstrip(".!?") in answer_flat
        overlap = len(words & answer_words) / len(words)
        if quoted or (len(words) >= 3 and overlap >= MIN_OVERLAP):
            found.append((start, end))
    return found


def highlighted_html(passage: str, spans: list[tuple[int, int]]) -> str:
    """The passage as escaped HTML with `spans` wrapped in <mark> (document text is
    untrusted: everything is escaped, nothing of it is interpreted)."""
    out: list[str] = []
    cursor = 0
    for start, end in sorted(spans):
        out.append(html.escape(passage[cursor:start]))
        out.append(f"<mark>{html.escape(passage[start:end])}</mark>")
        cursor = end
    out.append(html.escape(passage[cursor:]))
    return "".join(out)
