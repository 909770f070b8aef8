"""Unit tests (no I/O) for ragstream.text: the one definition of words and query terms."""

from __future__ import annotations

from ragstream.text import MAX_QUERY_TERMS, content_words, query_terms, sentences, words


def test_words_keep_contractions_and_drop_underscores() -> None:
    assert words("It's the_key, 42 times!") == ["it's", "the", "key", "42", "times"]


def test_content_words_drop_stopwords_and_numbers() -> None:
    assert content_words("How do I rotate the API key every 90 days?") == [
        "rotate", "api", "key", "every", "days",
    ]  # fmt: skip


def test_query_terms_are_distinct_and_keep_stopwords_only_when_nothing_else() -> None:
    assert query_terms("the key and THE Key rotation") == ["key", "rotation"]
    assert query_terms("what is it") == ["what", "is", "it"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == MAX_QUERY_TERMS


def test_sentences_split_at_end_marks_and_blank_lines() -> None:
    assert sentences("One e.g. two. Three!\n\nfour five") == [
        "One e.g. two.",
        "Three!",
        "four five",
    ]
