"""`ragstream watch` on a real directory (inotify via watchdog): files created, written
slowly in chunks, renamed and deleted while the watcher runs; a half-written file is
never in the index; the CLI runs one pass."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ragstream.cli import main
from ragstream.sources.sync import SyncResult
from ragstream.sources.watch import Watcher
from ragstream.workspace import Workspace
from tests.sources.files import paths, write


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_watched_folder_follows_changes_and_never_ingests_half_files(
    tmp_path: Path, workspace: Workspace
) -> None:
    docs = tmp_path / "docs"
    write(docs / "old.md", "# Old\n\nAn old note about kestrels hovering.\n")
    sources = workspace.sources
    sources.add(str(docs))
    sources.syncer.settle = 0.5
    results: list[SyncResult] = []
    watcher = Watcher(sources, rescan=300, debounce=0.2, on_result=results.append)
    thread = watcher.start()
    try:
        wait_for(lambda: paths(workspace) == {"docs/old.md"})  # the first pass

        (docs / "new.md").write_text("# New\n\nOspreys dive feet first for fish.\n")
        took = wait_for(lambda: "docs/new.md" in paths(workspace))
        assert took < 5

        parts = [f"Part {i}: the swift sleeps on the wing for months. " for i in range(8)]
        with (docs / "slow.md").open("w") as out:
            for part in parts:
                out.write(part)
                out.flush()
                time.sleep(0.25)
                assert "docs/slow.md" not in paths(workspace)  # never while being written
        wait_for(lambda: "docs/slow.md" in paths(workspace))
        [doc] = [d for d in workspace.documents() if d.path == "docs/slow.md"]
        assert doc.size == len("".join(parts).encode())  # the whole file, not a prefix
        assert any(r.pending for r in results)  # it was seen, and left alone, mid-write

        (docs / "new.md").rename(docs / "renamed.md")
        wait_for(lambda: {"docs/renamed.md"} <= paths(workspace) - {"docs/new.md"})
        assert "docs/new.md" not in paths(workspace)

        (docs / "old.md").unlink()
        wait_for(lambda: "docs/old.md" not in paths(workspace))
        time.sleep(1.0)  # let the deletion's sync report
        n = len(results)
        (docs / ".draft.md.swp").write_text("editor scratch")
        time.sleep(1.0)
        assert [r.summary() for r in results[n:]] == []  # hidden files trigger no sync
        assert all(r.ok for r in results)
    finally:
        watcher.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_watch_cli_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "notes/a.md", "# Wrens\n\nWrens sing loudly for their size.\n")
    ws = ["--workspace", str(tmp_path / "ws")]
    main(["source", "add", "notes", "--no-sync", *ws])
    main(["watch", "--once", *ws])
    captured = capsys.readouterr()
    assert "watching 1 sources" in captured.err
    assert "notes: 1 ingested" in captured.out


def test_scheduled_sources_retry_with_backoff_and_never_stop_others(
    tmp_path: Path, workspace: Workspace
) -> None:
    from tests.sources.site_server import serve_site

    with serve_site() as site:
        down_url = site.url + "/index.html"  # the server is stopped on leaving the block
    write(tmp_path / "docs/a.md", "# Terns\n\nArctic terns fly pole to pole.\n")
    sources = workspace.sources
    sources.add(down_url, name="down", every=1.0, allow_private=True, timeout=0.5)
    sources.add(str(tmp_path / "docs"), every=1.0)
    results: list[SyncResult] = []
    watcher = Watcher(sources, rescan=300, debounce=0.1, on_result=results.append)
    thread = watcher.start()
    try:
        wait_for(lambda: sum(1 for r in results if r.name == "down") >= 3, timeout=15)
    finally:
        watcher.stop()
        thread.join(timeout=10)
    down = [r for r in results if r.name == "down"]
    assert all("cannot reach 127.0.0.1" in r.error for r in down)
    assert sources.registry.state("down").consecutive_failures >= 3
    docs = [r for r in results if r.name == "docs"]
    assert docs and all(r.ok for r in docs)  # the failing source never stopped this one
    assert paths(workspace) == {"docs/a.md"}


def test_serve_watch_hook_starts_only_with_sources(tmp_path: Path) -> None:
    from ragstream.commands.sources import start_background_watch
    from ragstream.config import load_settings

    settings = load_settings({"workspace": tmp_path / "ws"})
    assert start_background_watch(settings) is None  # no sources: nothing started
    (tmp_path / "docs").mkdir()
    with Workspace(settings) as workspace:
        workspace.sources.add(str(tmp_path / "docs"))
        watcher = start_background_watch(settings)
        assert watcher is not None
        try:
            (tmp_path / "docs/puffin.md").write_text("# Puffins\n\nPuffins nest in burrows.\n")
            wait_for(lambda: "docs/puffin.md" in paths(workspace), timeout=15)
        finally:
            watcher.stop()


def test_out_of_inotify_watches_falls_back_to_rescans(
    tmp_path: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchdog.observers.api import BaseObserver

    def no_watches(*args: object, **kwargs: object) -> None:
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(BaseObserver, "schedule", no_watches)
    write(tmp_path / "docs/a.md", "# Gulls\n\nGulls steal chips.\n")
    sources = workspace.sources
    sources.add(str(tmp_path / "docs"))
    results: list[SyncResult] = []
    watcher = Watcher(sources, rescan=0.5, debounce=0.1, on_result=results.append)
    thread = watcher.start()
    try:
        write(tmp_path / "docs/b.md", "# Terns\n\nTerns dive.\n")
        wait_for(lambda: "docs/b.md" in paths(workspace))  # found by a rescan
    finally:
        watcher.stop()
        thread.join(timeout=10)
    assert "cannot watch" in results[0].error and "rescanned every 0.5s" in results[0].error
