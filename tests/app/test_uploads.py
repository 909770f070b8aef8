"""Upload checks and the atomic write (tmp_path I/O only)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ragstream.app.uploads import (
    check_upload,
    discard_upload,
    limit_note,
    safe_name,
    save_upload,
    uploads_dir,
)
from ragstream.config import Settings
from ragstream.errors import LoaderError


def test_safe_name_strips_directories_and_odd_characters() -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("C:\\Users\\me\\report 2024.pdf") == "report 2024.pdf"
    assert safe_name(".hidden.md") == "hidden.md"
    assert safe_name("a;rm -rf $HOME.txt") == "a_rm -rf _HOME.txt"
    assert safe_name("...") == "upload"


@pytest.mark.parametrize("name", ["notes.exe", "archive.zip", "README"])
def test_other_types_are_refused_naming_the_file(name: str) -> None:
    with pytest.raises(LoaderError, match=rf"^{name}: .* is not supported; upload PDF"):
        check_upload(name, 10, 50)


def test_over_the_limit_is_refused_with_the_setting_to_change() -> None:
    with pytest.raises(
        LoaderError, match=r"big.pdf: 2.0 MB is over the 1.0 MB limit .*MAX_FILE_MB"
    ):
        check_upload("big.pdf", 2 * 1024 * 1024, 1)
    check_upload("ok.PDF", 1024 * 1024, 1)  # at the limit and upper-case suffix: accepted


def test_the_upload_limit_counts_as_ingest_and_streamlit_do(tmp_path: Path) -> None:
    # One definition: the app, the loaders (ingest) and Streamlit's maxUploadSize all
    # count 1 MB = 1024² bytes, so a file the page accepts is never refused by ingest.
    from ragstream.app.cli import streamlit_command
    from ragstream.ingest.loaders import MB, read_checked

    edge = tmp_path / "edge.txt"
    edge.write_bytes(b"x" * (MB // 100))
    check_upload("edge.txt", MB // 100, 0.01)  # the page accepts it...
    assert read_checked(edge, int(0.01 * MB))  # ...and so does ingest, at the same limit
    with pytest.raises(LoaderError):
        check_upload("edge.txt", MB // 100 + 1, 0.01)
    flags = dict(a.removeprefix("--").split("=", 1) for a in streamlit_command(1, "x", 50)[3:])
    assert flags["server.maxUploadSize"] == "50"  # Streamlit multiplies by 1024 * 1024
    assert "50.0 MB per file" in limit_note(50) and "RAGSTREAM_MAX_FILE_MB" in limit_note(50)


def test_refused_upload_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "uploads"
    with pytest.raises(LoaderError):
        save_upload(target, "big.txt", b"x" * (2 * 1024 * 1024 + 1), 2)
    with pytest.raises(LoaderError):
        save_upload(target, "x.exe", b"MZ", 2)
    assert not target.exists() or list(target.iterdir()) == []


def test_same_name_keeps_both_and_same_bytes_are_the_same_file(tmp_path: Path) -> None:
    first = save_upload(tmp_path, "notes.md", b"# one", 1)
    second = save_upload(tmp_path, "notes.md", b"# two", 1)
    third = save_upload(tmp_path, "notes.md", b"# three", 1)
    assert first == tmp_path / "notes.md" and first.read_bytes() == b"# one"  # never lost
    assert second == tmp_path / "notes (2).md" and second.read_bytes() == b"# two"
    assert third == tmp_path / "notes (3).md"
    assert save_upload(tmp_path, "notes.md", b"# two", 1) == second  # known bytes: that file
    assert save_upload(tmp_path, "notes.md", b"# one", 1) == first
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["notes (2).md", "notes (3).md", "notes.md"]  # no temp file left behind


def test_two_tabs_uploading_one_name_at_once_both_keep_their_file(tmp_path: Path) -> None:
    contents = [f"# tab {n}".encode() for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda data: save_upload(tmp_path, "notes.md", data, 1), contents))
    assert len(set(paths)) == 8
    assert sorted(p.read_bytes() for p in paths) == sorted(contents)


def test_without_hard_links_the_name_is_still_claimed_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_args: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr("ragstream.app.uploads.os.link", no_links)
    first = save_upload(tmp_path, "a.txt", b"one", 1)
    second = save_upload(tmp_path, "a.txt", b"two", 1)
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")
    assert second.name == "a (2).txt"


def test_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ragstream.app.uploads.os.link", fail)
    monkeypatch.setattr("ragstream.app.uploads.os.open", fail)
    with pytest.raises(OSError):
        save_upload(tmp_path, "doc.txt", b"hello", 1)
    assert list(tmp_path.iterdir()) == []


def test_discard_only_touches_files_in_the_uploads_dir(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path / "ws")
    inside = save_upload(uploads_dir(settings), "a.txt", b"a", 1)
    outside = tmp_path / "b.txt"
    outside.write_text("b")
    discard_upload(settings, "b.txt")  # keys are relative to the workspace's parent
    discard_upload(settings, "ws/uploads/missing.txt")
    assert outside.exists() and inside.exists()
    discard_upload(settings, "ws/uploads/a.txt")
    assert not inside.exists()
