"""Per-file faults in the ingest pipeline, on real parts (loaders, builtin embedder,
SQLite): each becomes that file's one-line reason and the run goes on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragstream.ingest import loaders
from ragstream.ingest.pipeline import display_path, printable
from ragstream.ingest.report import IngestReport
from ragstream.workspace import Workspace

TEXT = "Rotate the signing key every ninety days and revoke the old one at once.\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    # builtin, not auto: the auto choice samples files through the loader these tests patch
    ws = Workspace.open(workspace=tmp_path / "ws", embedder="builtin")
    yield ws
    ws.close()


def results(report: IngestReport) -> dict[str, tuple[str, str]]:
    return {f.path: (f.status, f.reason) for f in report.files}


def test_display_path_survives_loops_and_undecodable_names(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert display_path(tmp_path / "a", tmp_path) == "a"
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.txt"))
    assert display_path(odd, tmp_path) == "caf\\xe9.txt"
    assert printable("plain ☃.txt") == "plain ☃.txt"


def test_an_undecodable_name_is_ingested_under_an_escaped_key(
    tmp_path: Path, workspace: Workspace
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    with open(os.fsencode(docs) + b"/r\xe9sum\xe9.txt", "wb") as handle:
        handle.write(TEXT.encode())
    (docs / "ok.txt").write_text(TEXT + " Also fine.")
    got = results(workspace.ingest([docs]))
    assert got["docs/r\\xe9sum\\xe9.txt"][0] == "ingested"
    assert got["docs/ok.txt"][0] == "ingested"
    assert [h.chunk.path for h in workspace.search("signing key", k=1)]


def test_an_unreadable_folder_keeps_its_documents(
    tmp_path: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    (docs / "locked").mkdir(parents=True)
    (docs / "locked" / "inside.txt").write_text(TEXT)
    (docs / "open.txt").write_text(TEXT + " Open.")
    assert workspace.ingest([docs]).count("ingested") == 2
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        # Root reads any folder, so a chmod 000 alone proves nothing when tests run as root.
        if Path(os.fsdecode(path)) == docs / "locked":  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    got = results(workspace.ingest([docs]))
    assert got["docs/locked"] == (
        "failed",
        "folder cannot be read (Permission denied): its documents are kept as they were",
    )
    assert "docs/locked/inside.txt" not in got  # neither removed nor re-read
    assert {d.path for d in workspace.documents()} == {"docs/locked/inside.txt", "docs/open.txt"}


def test_a_file_deleted_while_parsed_and_a_crashing_loader_do_not_stop_the_run(
    tmp_path: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a-vanishes.txt", "b-crashes.txt", "c-fine.txt"):
        (docs / name).write_text(f"{TEXT} {name}")
    real_load = loaders.load_bytes

    def load_bytes(suffix: str, data: bytes) -> loaders.LoadResult:
        if b"a-vanishes" in data:
            (docs / "a-vanishes.txt").unlink()  # gone mid-parse: its bytes were read already
        if b"b-crashes" in data:
            raise KeyError("a loader bug")
        return real_load(suffix, data)

    monkeypatch.setattr(loaders, "load_bytes", load_bytes)
    got = results(workspace.ingest([docs]))
    assert got["docs/a-vanishes.txt"][0] == "ingested"
    assert got["docs/b-crashes.txt"] == ("failed", "cannot ingest it ('a loader bug')")
    assert got["docs/c-fine.txt"][0] == "ingested"


def test_fifos_and_time_budget_are_reasons(tmp_path: Path, workspace: Workspace) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    os.mkfifo(docs / "pipe.md")
    (docs / "slow.txt").write_text(TEXT)
    ingestor = workspace._ingestor(None)
    ingestor.seconds_per_file = 0.0  # every file is over budget at its first check
    got = results(ingestor.ingest_paths([docs, docs / "pipe.md"], keep_missing=False, skip=None))
    assert got["docs/pipe.md"] == ("failed", "not a regular file (a FIFO): only files are read")
    assert got["docs/slow.txt"] == (
        "failed",
        "took over 0 s to read (the per-file time budget): split the file",
    )
