"""Citation locators: one rule for the CLI, the answer's sources and the page's buttons."""

from __future__ import annotations

import pytest

from ragstream.app.passages import source_label
from ragstream.models import locator


@pytest.mark.parametrize(
    ("path", "page", "title", "lines", "where"),
    [
        ("man/ssh.1.txt", None, None, (120, 145), "L120-145"),
        ("a.py", None, None, (7, 7), "L7"),
        ("notes.md", None, "Setup > Ports", (12, 30), 'L12-30 § "Setup > Ports"'),
        ("sales.xlsx", None, "Q1", (2, 40), "Q1 rows 2-40"),
        ("export.CSV", None, None, (2, 9), "rows 2-9"),
        ("deck.pptx", 3, "Headcount", None, "slide 3"),
        ("report.pdf", 7, "Intro", None, "p.7"),
        ("page.html", None, "Install", None, '§ "Install"'),
        ("page.html", None, None, None, ""),
    ],
)
def test_locator(
    path: str, page: int | None, title: str | None, lines: tuple[int, int] | None, where: str
) -> None:
    assert locator(path, page, title, lines) == where


def test_button_labels_stay_short() -> None:
    assert source_label("docs/ssh.1.txt", None, None, (120, 145)) == "ssh.1.txt L120-145"
    assert source_label("docs/notes.md", None, "Setup", (3, 9)) == "notes.md L3-9"
    assert source_label("b/sales.xlsx", None, "Q1", (2, 40)) == "sales.xlsx Q1 rows 2-40"
    assert source_label("deck.pptx", 2, "Plan") == "deck.pptx slide 2"
    assert source_label("docs/runbook.pdf", 7) == "runbook.pdf p.7"
