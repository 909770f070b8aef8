"""The language guess behind embedder = "auto" (pure, no model)."""

from __future__ import annotations

import json
from pathlib import Path

from ragstream import embedder_choice
from ragstream.index import multilingual
from ragstream.ingest.language import (
    ENGLISH_SHARE,
    english_share,
    looks_english,
    non_ascii_letter_share,
)
from ragstream.models import Section

FAQ = Path(__file__).resolve().parents[2] / "bench" / "data"


def _answers(name: str) -> list[str]:
    lines = (FAQ / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines]


def test_every_five_faq_answers_are_told_apart() -> None:
    english, swedish = _answers("faq-en"), _answers("faq-sv")
    for i in range(0, len(english), 5):
        assert looks_english(english[i : i + 5]), english[i]
        assert not looks_english(swedish[i : i + 5]), swedish[i]


def test_other_languages_and_scripts_are_not_english() -> None:
    assert not looks_english(["Die Baugenehmigung wird vom Bauamt der Stadt erteilt."])
    assert not looks_english(["La demande de permis doit être déposée à la mairie."])
    assert english_share(["東京は日本の首都です。我爱北京天安门。"]) == 0.0
    assert english_share([]) == english_share([""]) == 0.0
    assert 0 < ENGLISH_SHARE < 0.3


def test_only_the_sample_is_read() -> None:
    assert looks_english(["the cat is on the mat " * 10, "och " * 10_000], sample_chars=100)


def test_choose_keeps_minilm_for_english_and_for_too_little_text() -> None:
    assert embedder_choice.choose(_answers("faq-en")[:5]) == "builtin"
    assert embedder_choice.choose(["Bygglov söks hos kommunen."]) == "builtin"  # 4 words
    filler = " ".join(f"word{i} alpha{i % 13}" for i in range(200))  # no English, no accents
    assert embedder_choice.choose([filler]) == "builtin"
    installed = multilingual.available()  # the [multilingual] extra, or a built model
    swedish = embedder_choice.choose(_answers("faq-sv")[:5])
    assert swedish == ("multilingual" if installed else "builtin")


def test_peek_puts_the_documents_back() -> None:
    docs = ((f"{i}.md", [Section(f"text {i}")]) for i in range(20))
    texts, again = embedder_choice.peek_documents(docs)
    assert texts == [f"text {i}" for i in range(embedder_choice.SAMPLE_FILES)]
    assert [key for key, _ in again] == [f"{i}.md" for i in range(20)]


def test_sample_files_reads_the_first_supported_files(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nhej och välkommen", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01")
    texts = embedder_choice.sample_files([tmp_path], tmp_path, None)
    assert any("välkommen" in t for t in texts)


def test_non_ascii_letters_are_counted_among_letters_only() -> None:
    assert non_ascii_letter_share("Hej på dig 123 !!!") == 1 / 8
    assert non_ascii_letter_share("東京") == 1.0
    assert non_ascii_letter_share("plain ascii, 42") == non_ascii_letter_share("") == 0.0
