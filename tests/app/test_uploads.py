"""Upload checks and the atomic write (tmp_path I/O only)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ragstream.config import MB, Settings
from ragstream.errors import LoaderError
from ragstream.ingest.loaders import read_checked
from ragstream.uploads import (
    check_upload,
    discard_upload,
    limit_note,
    safe_name,
    save_upload,
    uploads_dir,
)
from ragstream.workspace import Workspace


def test_safe_name_strips_directories_and_odd_characters() -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("C:\\Users\\me\\report 2024.pdf") == "report 2024.pdf"
    assert safe_name(".hidden.md") == "hidden.md"
    assert safe_name("a;rm -rf $HOME.txt") == "a_rm -rf _HOME.txt"
    assert safe_name("...") == "upload"


@pytest.mark.parametrize("name", ["notes.exe", "archive.zip", "README"])
def test_other_types_are_refused_naming_the_file(name: str) -> None:
    with pytest.raises(LoaderError, match=rf"^{name}: .* is not supported; upload .*PDF"):
        check_upload(name, 10, 50)


def test_over_the_limit_is_refused_with_the_setting_to_change() -> None:
    with pytest.raises(
        LoaderError, match=r"big.pdf: file is 2.0 MB, over the 1.0 MB limit .*RAGSTREAM_MAX_FILE_MB"
    ):
        check_upload("big.pdf", 2 * MB, MB)
    check_upload("ok.PDF", MB, MB)  # at the limit and upper-case suffix: accepted


def test_the_page_and_ingest_share_one_limit_in_mebibytes(tmp_path: Path) -> None:
    """50 MB means 50 MiB on the page and in ingest alike (the page once counted 1e6)."""
    settings = Settings(max_file_mb=1)
    just_over = tmp_path / "a.txt"
    just_over.write_bytes(b"x" * (MB + 1))
    with pytest.raises(LoaderError, match=r"over the 1\.0 MB limit"):
        read_checked(just_over, settings.max_file_bytes)
    with pytest.raises(LoaderError, match=r"over the 1\.0 MB limit"):
        check_upload("a.txt", MB + 1, settings.max_file_bytes)
    check_upload("a.txt", 1_048_000, settings.max_file_bytes)  # over 1e6 bytes, under 1 MiB


def test_streamlit_counts_the_limit_as_we_do_and_the_page_states_it() -> None:
    from ragstream.app.cli import streamlit_command

    flags = dict(a.removeprefix("--").split("=", 1) for a in streamlit_command(1, "x", 50)[3:])
    assert flags["server.maxUploadSize"] == "50"  # Streamlit multiplies by 1024 * 1024
    note = limit_note(50 * MB)
    assert "50.0 MB per file" in note and "RAGSTREAM_MAX_FILE_MB" in note


def test_refused_upload_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "uploads"
    with pytest.raises(LoaderError):
        save_upload(target, "big.txt", b"x" * (2 * MB + 1), 2 * MB)
    with pytest.raises(LoaderError):
        save_upload(target, "x.exe", b"MZ", 2 * MB)
    assert not target.exists() or list(target.iterdir()) == []


def test_same_name_keeps_both_and_same_bytes_are_the_same_file(tmp_path: Path) -> None:
    first = save_upload(tmp_path, "notes.md", b"# one", MB)
    second = save_upload(tmp_path, "notes.md", b"# two", MB)
    third = save_upload(tmp_path, "notes.md", b"# three", MB)
    assert first == tmp_path / "notes.md" and first.read_bytes() == b"# one"  # never lost
    assert second == tmp_path / "notes (2).md" and second.read_bytes() == b"# two"
    assert third == tmp_path / "notes (3).md"
    assert save_upload(tmp_path, "notes.md", b"# two", MB) == second  # known bytes: that file
    assert save_upload(tmp_path, "notes.md", b"# one", MB) == first
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["notes (2).md", "notes (3).md", "notes.md"]  # no temp file left behind


def test_two_tabs_uploading_one_name_at_once_both_keep_their_file(tmp_path: Path) -> None:
    contents = [f"# tab {n}".encode() for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda data: save_upload(tmp_path, "notes.md", data, MB), contents))
    assert len(set(paths)) == 8
    assert sorted(p.read_bytes() for p in paths) == sorted(contents)


def test_without_hard_links_the_name_is_still_claimed_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_args: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr("ragstream.uploads.os.link", no_links)
    first = save_upload(tmp_path, "a.txt", b"one", MB)
    second = save_upload(tmp_path, "a.txt", b"two", MB)
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")
    assert second.name == "a (2).txt"


def test_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ragstream.uploads.os.link", fail)
    monkeypatch.setattr("ragstream.uploads.os.open", fail)
    with pytest.raises(OSError):
        save_upload(tmp_path, "doc.txt", b"hello", MB)
    assert list(tmp_path.iterdir()) == []


def test_discard_only_touches_files_in_the_uploads_dir(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path / "ws")
    workspace = Workspace(settings)
    inside = save_upload(uploads_dir(settings), "a.txt", b"a", MB)
    outside = tmp_path / "b.txt"
    outside.write_text("b")
    for key in ("b.txt", "ws/uploads/missing.txt"):  # keys are relative to the workspace's parent
        discard_upload(settings, workspace.source_path(key))
    assert outside.exists() and inside.exists()
    discard_upload(settings, workspace.source_path("ws/uploads/a.txt"))
    assert not inside.exists()
