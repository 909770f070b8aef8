"""An e-mail's attachments become documents of their own (`mail.eml#plan.pdf`), cited by
their own pages and lines, replaced and removed with their message: a real multipart
message built with the stdlib email package, ingested through the workspace."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fpdf import FPDF

from ragstream.ingest.attached import attachment_key, attachments_of
from ragstream.models import locator
from ragstream.workspace import Workspace


def pdf_bytes(*pages: str) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def mail(*, with_notes: bool = True, big: bytes = b"") -> bytes:
    message = EmailMessage()
    message["Subject"] = "Migration plan"
    message["From"] = "Ops <ops@example.org>"
    message["To"] = "team@example.org"
    message["Date"] = "Sat, 05 Dec 2026 09:00:00 +0000"
    message.set_content("The plan is attached. Read it before Friday.\n")
    plan = pdf_bytes(
        "Step one: freeze the schema and announce the window.",
        "Step two: the flamingo cluster is drained at noon.",
    )
    message.add_attachment(plan, maintype="application", subtype="pdf", filename="plan.pdf")
    if with_notes:
        notes = "Notes\n\nLine three names the armadillo database.\n"
        message.add_attachment(
            notes.encode(), maintype="text", subtype="plain", filename="notes.txt"
        )
    # The same name twice: the second is kept as "notes (2).txt", nothing overwritten.
    message.add_attachment(b"Second notes about the okapi queue.\n", maintype="text",
                           subtype="plain", filename="notes.txt")  # fmt: skip
    message.add_attachment(b"%PDF-1.4 broken", maintype="application", subtype="pdf",
                           filename="bad.pdf")  # fmt: skip
    if big:
        message.add_attachment(big, maintype="text", subtype="plain", filename="huge.txt")
    return bytes(message)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(workspace=tmp_path / "ws")
    yield ws
    ws.close()


def statuses(workspace: Workspace, docs: Path) -> dict[str, str]:
    return {f.path: f"{f.status}: {f.reason}" for f in workspace.ingest([docs]).files}


def cited(workspace: Workspace, query: str) -> str:
    chunk = workspace.search(query, k=1, mode="bm25")[0].chunk
    return f"{chunk.path} {locator(chunk.path, chunk.page, None, chunk.lines)}"


def test_attachments_are_documents_cited_replaced_and_removed_with_their_message(
    tmp_path: Path, workspace: Workspace
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mail.eml").write_bytes(mail())
    (docs / "other.txt").write_text("Unrelated text about gardening.\n")
    got = statuses(workspace, docs)
    assert got["docs/mail.eml"].startswith("ingested: attachment bad.pdf: not a readable PDF")
    for name in ("plan.pdf", "notes.txt", "notes (2).txt"):
        assert got[f"docs/mail.eml#{name}"] == "ingested: "
    assert cited(workspace, "flamingo cluster drained") == "docs/mail.eml#plan.pdf p.2"
    assert cited(workspace, "armadillo database") == "docs/mail.eml#notes.txt L1-3"
    assert cited(workspace, "okapi queue") == "docs/mail.eml#notes (2).txt L1"
    assert cited(workspace, "before Friday").startswith("docs/mail.eml ")

    # Unchanged: nothing re-read, no attachment lost.
    again = statuses(workspace, docs)
    assert set(again.values()) == {"unchanged: "}

    # The message changes: one notes.txt left, so "notes (2).txt" is no longer attached.
    (docs / "mail.eml").write_bytes(mail(with_notes=False))
    changed = statuses(workspace, docs)
    assert changed["docs/mail.eml#notes (2).txt"] == "removed: no longer attached"
    assert cited(workspace, "okapi queue") == "docs/mail.eml#notes.txt L1"
    paths = {d.path for d in workspace.documents()}
    assert "docs/mail.eml#notes (2).txt" not in paths and "docs/mail.eml#plan.pdf" in paths

    # Removing the message removes its attachments.
    assert workspace.remove("docs/mail.eml")
    assert {d.path for d in workspace.documents()} == {"docs/other.txt"}

    # So does deleting its file from an ingested folder.
    (docs / "mail.eml").write_bytes(mail())
    statuses(workspace, docs)
    (docs / "mail.eml").unlink()
    gone = statuses(workspace, docs)
    assert gone["docs/mail.eml#plan.pdf"] == "removed: file no longer exists"
    assert {d.path for d in workspace.documents()} == {"docs/other.txt"}


def test_an_attachment_over_its_cap_is_named_and_the_rest_indexed(
    tmp_path: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ragstream.ingest.loaders.eml.EML_MAX_ATTACHMENT_BYTES", 1024 * 1024)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mail.eml").write_bytes(mail(big=b"too long a line\n" * 70_000))  # 1.1 MB
    got = statuses(workspace, docs)
    assert "attachment huge.txt: 1.1 MB, over the 1 MB limit per attachment" in got["docs/mail.eml"]
    assert "docs/mail.eml#huge.txt" not in got and got["docs/mail.eml#plan.pdf"] == "ingested: "


def test_the_key_rule() -> None:
    keys = ["a/m.eml", "a/m.eml#x.pdf", "a/m.eml#y.txt", "a/m.emlx", "a/n.eml#x.pdf", "a/t.txt#1"]
    assert attachment_key("a/m.eml", "x.pdf") == "a/m.eml#x.pdf"
    assert attachments_of(keys, "a/m.eml") == ["a/m.eml#x.pdf", "a/m.eml#y.txt"]
    assert attachments_of(keys, "a/t.txt") == []  # only messages carry attachments


def test_a_synced_folder_source_removes_a_deleted_messages_attachments(
    tmp_path: Path, workspace: Workspace
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mail.eml").write_bytes(mail())
    past = time.time() - 5  # a finished file: the folder source skips ones still written
    os.utime(docs / "mail.eml", (past, past))
    sources = workspace.sources
    sources.add(str(docs), every=900)
    [first] = sources.sync("docs")
    assert first.ok and "docs/mail.eml#plan.pdf" in {d.path for d in workspace.documents()}
    (docs / "mail.eml").unlink()
    [second] = sources.sync("docs")
    assert second.ok and workspace.documents() == []
