"""Folder sources on real parts: add, sync (incremental by stat), delete, rename, the
half-written rule, the per-source lock, remove, and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragstream.cli import main
from ragstream.errors import SourceError
from ragstream.workspace import Workspace
from tests.sources.files import paths, statuses, write


def test_add_sync_change_delete_rename(tmp_path: Path, workspace: Workspace) -> None:
    docs = tmp_path / "docs"
    write(docs / "zebra.md", "# Zebras\n\nZebras graze on the savanna in large herds.\n")
    write(docs / "sub/ravens.txt", "Ravens solve puzzles and remember faces.\n")
    write(docs / "image.gif", "not a document")
    sources = workspace.sources
    spec = sources.add(str(docs), every=900)
    assert (spec.name, spec.kind, spec.every) == ("docs", "folder", 900)

    [first] = sources.sync("docs")
    assert first.ok
    assert statuses(first) == {"docs/zebra.md": "ingested", "docs/sub/ravens.txt": "ingested"}
    assert workspace.search("savanna herds", k=1)[0].chunk.path == "docs/zebra.md"

    write(docs / "zebra.md", "# Zebras\n\nZebras have stripes that confuse flies.\n")
    (docs / "sub/ravens.txt").rename(docs / "sub/crows.txt")
    [second] = sources.sync("docs")
    assert statuses(second) == {
        "docs/zebra.md": "ingested",
        "docs/sub/crows.txt": "ingested",
        "docs/sub/ravens.txt": "removed",
    }
    assert paths(workspace) == {"docs/zebra.md", "docs/sub/crows.txt"}
    assert "flies" in workspace.search("stripes flies", k=1)[0].chunk.text

    (docs / "zebra.md").unlink()
    [third] = sources.sync()
    assert statuses(third)["docs/zebra.md"] == "removed"
    [info] = sources.infos()
    assert info.documents == 1 and info.state.last_ok and info.state.counts["removed"] == 1


def test_unchanged_resync_reads_no_file(
    tmp_path: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    for i in range(20):
        write(docs / f"n{i}.txt", f"Note number {i} about topic {i * 7}.\n")
    sources = workspace.sources
    sources.add(str(docs))
    sources.sync()
    reads: list[Path] = []
    real = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    [again] = sources.sync()
    assert set(statuses(again).values()) == {"unchanged"} and len(again.report.files) == 20
    assert reads == []
    assert again.report.chunks_embedded == 0


def test_a_file_still_being_written_is_not_ingested(tmp_path: Path, workspace: Workspace) -> None:
    docs = tmp_path / "docs"
    write(docs / "done.md", "A finished document about lighthouses.\n")
    sources = workspace.sources
    sources.add(str(docs))
    (docs / "fresh.md").write_text("The first half of a document", encoding="utf-8")
    [result] = sources.sync()
    assert result.pending == 1
    assert paths(workspace) == {"docs/done.md"}
    # ... and an older version of it stays searchable while a new one is being written
    write(docs / "fresh.md", "The whole document about harbours.\n")
    sources.sync()
    (docs / "fresh.md").write_text("A new version, half", encoding="utf-8")
    [result] = sources.sync()
    assert result.pending == 1 and "docs/fresh.md" in paths(workspace)
    assert "harbours" in workspace.search("harbours", k=1)[0].chunk.text


def test_syncs_of_one_source_never_overlap(tmp_path: Path, workspace: Workspace) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.md", "Alpha document.\n")
    sources = workspace.sources
    sources.add(str(docs))
    with sources.registry.sync_lock("docs") as held:
        assert held
        [result] = sources.sync("docs")
        assert result.busy and not result.ok
        assert "another sync" in result.summary()
    [result] = sources.sync("docs")
    assert result.ok and paths(workspace) == {"docs/a.md"}


def test_remove_takes_its_documents_out(tmp_path: Path, workspace: Workspace) -> None:
    docs, other = tmp_path / "docs", tmp_path / "other"
    write(docs / "a.md", "Alpha document.\n")
    write(other / "b.md", "Beta document.\n")
    sources = workspace.sources
    sources.add(str(docs))
    sources.add(str(other))
    sources.sync()
    assert sources.remove("docs") == 1
    assert paths(workspace) == {"other/b.md"}
    assert [i.spec.name for i in sources.infos()] == ["other"]
    with pytest.raises(SourceError, match="no source named 'docs'"):
        sources.remove("docs")


def test_bad_input_is_one_line(tmp_path: Path, workspace: Workspace) -> None:
    sources = workspace.sources
    with pytest.raises(SourceError, match="no such folder"):
        sources.add(str(tmp_path / "nope"))
    (tmp_path / "docs").mkdir()
    sources.add(str(tmp_path / "docs"))
    with pytest.raises(SourceError, match="already the source 'docs'"):
        sources.add(str(tmp_path / "docs"), name="again")
    (tmp_path / "docs/sub").mkdir()
    with pytest.raises(SourceError, match="overlaps the folder source 'docs'"):
        sources.add(str(tmp_path / "docs/sub"))
    with pytest.raises(SourceError, match="overlaps the folder source 'docs'"):
        sources.add(str(tmp_path))
    (tmp_path / "docs/sub").rmdir()
    (tmp_path / "docs").rmdir()
    [result] = sources.sync()
    assert not result.ok and "the folder is gone" in result.error
    assert sources.infos()[0].state.consecutive_failures == 1


def test_cli_add_list_sync_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "notes/a.md", "# Otters\n\nOtters hold hands while sleeping.\n")
    write(tmp_path / "notes/b.md", "# Drafts\n\nNot for the index.\n")
    ws = ["--workspace", str(tmp_path / "ws")]
    main(["source", "add", "notes", "--every", "15m", "--exclude", "b.md", *ws])
    out = capsys.readouterr().out
    assert "added source notes (folder:" in out and "notes: 1 ingested" in out
    main(["source", "list", "--json", *ws])
    [row] = json.loads(capsys.readouterr().out)
    assert (row["name"], row["every"], row["documents"], row["failures"]) == ("notes", 900, 1, [])
    main(["source", "list", *ws])
    assert "notes" in capsys.readouterr().out
    main(["source", "sync", "notes", *ws])
    assert "notes: 1 unchanged" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["source", "add", "notes", "--every", "soon", *ws])
    assert exit_.value.code == 1
    assert "--every 'soon'" in capsys.readouterr().err
    main(["source", "remove", "notes", *ws])
    assert "removed source notes and its 1 documents" in capsys.readouterr().out


def test_sources_file_is_replaced_atomically(tmp_path: Path, workspace: Workspace) -> None:
    (tmp_path / "docs").mkdir()
    workspace.sources.add(str(tmp_path / "docs"))
    ws = tmp_path / "ws"
    leftovers = [p for p in os.listdir(ws) if p.startswith(".sources.json.")]
    assert leftovers == []
    assert json.loads((ws / "sources.json").read_text())["sources"][0]["name"] == "docs"


def test_a_sync_in_another_process_waits_its_turn(tmp_path: Path, workspace: Workspace) -> None:
    import subprocess
    import sys

    write(tmp_path / "docs/a.md", "Alpha document.\n")
    sources = workspace.sources
    sources.add(str(tmp_path / "docs"))
    command = [sys.executable, "-m", "ragstream.cli", "source", "sync", "docs",
               "--workspace", str(tmp_path / "ws")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with sources.registry.sync_lock("docs"):
        busy = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert busy.returncode == 0, busy.stderr
    assert "docs: skipped, another sync of it is running" in busy.stdout
    assert paths(workspace) == set()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "docs: 1 ingested" in done.stdout
