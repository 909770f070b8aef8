"""The offline token counter is tiktoken's own encoding, built from the shipped files."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import tiktoken
from tiktoken_ext import openai_public

from ragstream.errors import GenerationError
from ragstream.generate import tokens


@pytest.mark.parametrize("name", sorted(tokens.ENCODINGS))
def test_encodings_are_tiktokens_definitions(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same pattern, special tokens and vocabulary as tiktoken's registry, which would
    download the vocabulary: it is handed ours and checks the hash it publishes."""
    asked: dict[str, Any] = {}

    def load_shipped(url: str, expected_hash: str) -> dict[bytes, int]:
        asked.update(url=url, expected_hash=expected_hash)
        return tokens.mergeable_ranks(name)

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", load_shipped)
    reference = openai_public.ENCODING_CONSTRUCTORS[name]()
    spec = tokens.ENCODINGS[name]
    assert asked["url"].endswith(f"/{name}.tiktoken")
    assert asked["expected_hash"] == spec.sha256
    assert reference["pat_str"] == spec.pat_str
    assert reference["special_tokens"] == spec.special_tokens
    text = "Zürich café: 東京 🚀\r\n  x = 42; it's  <|endoftext|> done\n\n"
    expected = tiktoken.Encoding(**reference).encode_ordinary(text)
    assert tokens.BpeCounter(name).encoding.encode_ordinary(text) == expected


def test_decodes_back_and_o200k_is_denser() -> None:
    o200k, cl100k = tokens.counter_for("gpt-4o"), tokens.counter_for("gpt-4")
    text = "Zürich café: 東京 🚀\r\n  x = 42;"
    assert o200k.encoding.decode(o200k.encoding.encode_ordinary(text)) == text
    assert cl100k.encoding.decode(cl100k.encoding.encode_ordinary(text)) == text
    assert o200k.count(text) < cl100k.count(text)


def test_a_tampered_vocabulary_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = gzip.decompress((tokens.VOCAB_DIR / "cl100k_base.tiktoken.gz").read_bytes())
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(
        gzip.compress(shipped.replace(b" 0\n", b" 7\n", 1))
    )
    monkeypatch.setattr(tokens, "VOCAB_DIR", tmp_path)
    with pytest.raises(
        GenerationError, match=r"cl100k_base\.tiktoken\.gz: not OpenAI's cl100k_base"
    ):
        tokens.mergeable_ranks("cl100k_base")
