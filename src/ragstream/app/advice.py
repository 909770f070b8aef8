"""Advice for the page, not the terminal: the library's messages name CLI flags and
commands (`--base-url`, `ragstream ingest DIR`); a visitor of the page can only upload
here, and the LLM is configured by whoever runs the server. One place swaps them."""

from __future__ import annotations

from ragstream.generate.extractive import NOTHING_FOUND, OFFLINE_NOTE

OPERATOR_LLM = (
    "the operator sets OPENAI_API_KEY (or OPENAI_API_KEY_FILE, plus OPENAI_BASE_URL for an "
    "OpenAI-compatible server) where RAGstream runs"
)
PAGE_OFFLINE_NOTE = (
    "No LLM is configured: the sentences above are quoted from your documents. For "
    f"written answers, {OPERATOR_LLM}."
)
PAGE_NOTHING_FOUND = (
    "No passage in your documents matches this question. Add documents with "
    "**Add documents** in the sidebar, or ask with other words."
)
SIDEBAR_OFFLINE = (
    f"Offline mode: answers are extracted from your documents. To use an LLM, {OPERATOR_LLM}."
)
_SWAPS = (
    (OFFLINE_NOTE, PAGE_OFFLINE_NOTE),
    (NOTHING_FOUND, PAGE_NOTHING_FOUND),
    ("pick another with --model or RAGSTREAM_MODEL", "pick another in the sidebar's Model box"),
)


def for_page(text: str) -> str:
    for cli, page in _SWAPS:
        text = text.replace(cli, page)
    return text
