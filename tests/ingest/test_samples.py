"""The shipped sample folder: every document loads, and chunks cleanly with the real
MiniLM tokenizer."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
from tokenizers import Tokenizer as HFTokenizer

from ragstream.errors import LoaderError
from ragstream.ingest.chunker import chunk_sections
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES, load_document, loader_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
TOKENIZER_JSON = ROOT / "src/ragstream/index/models/all-MiniLM-L6-v2-int8/tokenizer.json"


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.is_file())


def test_samples_cover_every_format_and_stay_small() -> None:
    files = sample_files()
    assert {p.suffix for p in files} >= {".txt", ".md", ".pdf", ".docx", ".html"}
    assert all(p.suffix in SUPPORTED_SUFFIXES for p in files)
    assert sum(p.stat().st_size for p in files) < 1_000_000


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_every_sample_loads_cleanly(path: Path) -> None:
    result = load_document(path)
    assert result.warnings == []
    assert len(result.sections) >= 1 and all(s.text.strip() for s in result.sections)


def test_the_runbook_pdf_has_several_numbered_pages() -> None:
    sections = load_document(SAMPLES / "deployment-runbook.pdf").sections
    assert [s.page for s in sections] == [1, 2, 3, 4, 5]
    assert sections[3].title == "4. Rotating the OpenAI key"  # from the PDF's bookmarks
    assert "ragstream deploy secret set" in sections[3].text


def test_the_html_sample_keeps_only_its_main_text() -> None:
    text = " ".join(s.text for s in load_document(SAMPLES / "release-notes.html").sections)
    assert "Hybrid search fuses BM25" in text and "chunk_tokens | 200 | 256" in text
    for noise in ("analytics", "About us", "newsletter", "Privacy", "Search the site"):
        assert noise not in text


def test_the_committed_binaries_match_the_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts/make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for generated in module.make_samples(tmp_path):
        committed = load_document(SAMPLES / generated.name).sections
        assert load_document(generated).sections == committed


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_damaged_copies_of_each_sample_fail_only_with_loader_errors(path: Path) -> None:
    """Flipped bytes, truncation, random bytes: a reason or sections, never a crash."""
    rng = random.Random(path.name)
    data, loader = path.read_bytes(), loader_for(path.suffix)
    outcomes = set()
    for attempt in range(30):
        damaged = bytearray(data)
        if attempt % 3 == 0:
            for _ in range(rng.randint(1, 20)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        elif attempt % 3 == 1:
            damaged = damaged[: rng.randrange(len(damaged))]
        else:
            damaged = bytearray(rng.randbytes(rng.randint(1, 2000)))
        try:
            loader(bytes(damaged))
            outcomes.add("loaded")
        except LoaderError as exc:
            assert "\n" not in str(exc)
            outcomes.add("reason")
    assert "reason" in outcomes


class MiniLMSpans:
    """The Tokenizer protocol over the packaged tokenizer.json, without truncation."""

    def __init__(self, path: Path) -> None:
        self.tokenizer = HFTokenizer.from_file(str(path))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).offsets)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)


@pytest.mark.skipif(not TOKENIZER_JSON.exists(), reason="the packaged MiniLM tokenizer is absent")
@pytest.mark.parametrize("max_tokens,overlap", [(254, 32), (48, 12)])
def test_samples_chunk_within_budget_with_the_real_tokenizer(max_tokens: int, overlap: int) -> None:
    tokenizer = MiniLMSpans(TOKENIZER_JSON)
    total = 0
    for path in sample_files():
        sections = load_document(path).sections
        chunks = chunk_sections(path.name, sections, tokenizer, max_tokens, overlap)
        total += len(chunks)
        for chunk in chunks:
            assert sections[chunk.section_index].text[chunk.start : chunk.end] == chunk.text
            # What the embedder will see: the chunk alone, re-tokenised.
            assert tokenizer.count_tokens(chunk.text) <= max_tokens
            assert 1 <= chunk.n_tokens <= max_tokens
        assert len({c.id for c in chunks}) == len(chunks)
    assert total >= (5 if max_tokens > 200 else 40)
