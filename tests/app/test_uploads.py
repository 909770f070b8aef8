"""Upload checks and the atomic write (tmp_path I/O only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.app.uploads import (
    check_upload,
    discard_upload,
    safe_name,
    save_upload,
    uploads_dir,
)
from ragstream.config import MB, Settings
from ragstream.errors import LoaderError
from ragstream.ingest.loaders import read_checked
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


def test_refused_upload_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "uploads"
    with pytest.raises(LoaderError):
        save_upload(target, "big.txt", b"x" * (2 * MB + 1), 2 * MB)
    with pytest.raises(LoaderError):
        save_upload(target, "x.exe", b"MZ", 2 * MB)
    assert not target.exists() or list(target.iterdir()) == []


def test_save_is_atomic_and_replaces_a_previous_version(tmp_path: Path) -> None:
    first = save_upload(tmp_path, "doc.md", b"# one", MB)
    second = save_upload(tmp_path, "doc.md", b"# two", MB)
    assert first == second == tmp_path / "doc.md"
    assert second.read_bytes() == b"# two"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.md"]  # no temp file left behind


def test_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ragstream.app.uploads.os.replace", fail)
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
