"""Driving the page headless (streamlit.testing.v1.AppTest): open it, upload, ask, and
read what it shows."""

from __future__ import annotations

import html
import re

from streamlit.testing.v1 import AppTest

from ragstream.app.cli import SCRIPT

RUN_TIMEOUT = 120  # the first run loads the embedder
DOC = (
    "# Operations runbook\n\n"
    "## Start script\n\n"
    "The start script checks whether the container already exists. "
    "If the container already exists, the start script removes it and starts a fresh one.\n\n"
    "## Keys\n\n"
    "The API key is rotated every 90 days by the operator on duty. "
    "Rotation is logged in the change calendar.\n"
)


def page() -> AppTest:
    at = AppTest.from_file(str(SCRIPT), default_timeout=RUN_TIMEOUT)
    return at.run()


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/markdown") -> AppTest:
    at.sidebar.file_uploader[0].upload(name, data, mime)
    return at.run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question)
    return at.run()


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "success", "warning", "error")
        for e in getattr(at, kind)
    ]
    parts += [str(e.value) for e in at.sidebar.markdown]
    return "\n".join(str(p) for p in parts)


def table_rows(table: str) -> list[list[str]]:
    """The cells of a table drawn by components.html_table, unescaped."""
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows]


def documents(at: AppTest) -> list[list[str]]:
    """The rows of the sidebar's documents table."""
    return table_rows(next(h.value for h in at.sidebar.html if "ragstream-table" in h.value))
