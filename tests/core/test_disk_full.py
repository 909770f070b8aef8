"""A full disk and a read-only disk under a real workspace (issue 14.6, 14.7): `ingest` names the disk instead of
"cannot rollback", the index stays consistent, `docs` and `search` keep reading.
The workspace lives on a small tmpfs of its own (skipped where mount is not allowed)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragstream.cli import main
from tests.support.tmpfs import remount_read_only, small_tmpfs


@pytest.fixture
def disk() -> Iterator[Path]:
    with small_tmpfs("2m") as root:
        yield root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_info:
        code = int(exit_info.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


def test_ingest_on_a_full_disk_says_so_and_reads_go_on(
    disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keys.md").write_text("# Keys\n\nRotate the API key every ninety days.\n")
    ws = ["--workspace", str(disk / "ws")]
    assert run(capsys, "ingest", "-q", str(docs), *ws)[0] == 0
    # leave ~40 KB free: enough to open and read, not to store a few more documents
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:  # unbuffered: nothing left to flush at close
        while True:
            try:
                out.write(b"\0" * 8192)
            except OSError:
                break
    filler.write_bytes(b"\0" * (filler.stat().st_size - 40_000))
    for n in range(12):
        (docs / f"more-{n}.md").write_text(f"# Part {n}\n\n" + f"Section {n} text. " * 900)
    code, output = run(capsys, "ingest", "-q", str(docs), *ws)
    assert code == 1 and f"disk full at {disk / 'ws' / 'index.sqlite'}" in output, output
    assert "rollback" not in output and "Traceback" not in output
    db = disk / "ws" / "index.sqlite"
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        chunks, listed = conn.execute(
            "SELECT count(*), (SELECT sum(n_chunks) FROM documents) FROM chunks"
        ).fetchone()
        assert chunks == listed
    finally:
        conn.close()
    code, output = run(capsys, "docs", "--json", *ws)
    assert code == 0 and "keys.md" in output
    code, output = run(capsys, "search", "ninety days", "--json", *ws)
    assert code == 0 and "keys.md" in output


def test_a_read_only_workspace_lists_searches_and_checks_but_does_not_write(
    disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keys.md").write_text("# Keys\n\nRotate the API key every ninety days.\n")
    ws = ["--workspace", str(disk / "ws")]
    assert run(capsys, "ingest", "-q", str(docs), *ws)[0] == 0
    assert not list((disk / "ws").glob("index.sqlite-*"))  # no -wal, no -shm left
    remount_read_only(disk)
    code, output = run(capsys, "docs", "--json", *ws)
    assert code == 0 and "keys.md" in output
    code, output = run(capsys, "search", "ninety days", "--json", *ws)
    assert code == 0 and "keys.md" in output
    code, output = run(capsys, "doctor", *ws)
    assert code == 0 and "read-only here" in output and "integrity check: ok" in output
    (docs / "new.md").write_text("# New\n\nSomething new.\n")
    code, output = run(capsys, "ingest", "-q", str(docs), *ws)
    assert code == 1 and "needs write access" in output and "Traceback" not in output
