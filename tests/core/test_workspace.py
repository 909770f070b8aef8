"""The ingest pipeline end to end on real parts: loaders, chunker, the builtin ONNX
embedder and the SQLite store. Manifest behaviour, bad files, the embedder guard."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ragstream.errors import EmbedderMismatch
from ragstream.workspace import Workspace

DOCS = {
    "guide/rotate.md": "# Keys\n\nRotate the OpenAI key every 90 days with `ragstream deploy secret set`.\n\n"
    "## Why\n\nOld keys leak through laptops and logs; rotation limits the damage.\n",
    "guide/start.md": "# Start script\n\nWhen the container already exists, the start script "
    "removes it with docker rm -f and runs a new one from the freshly pulled image.\n",
    "notes.txt": "The Route 53 record follows the instance's public IP at every boot.\n",
}


def make_docs(root: Path, docs: dict[str, str] = DOCS) -> Path:
    for name, text in docs.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    # documents are keyed relative to the folder holding the workspace (tmp_path)
    return make_docs(tmp_path / "docs")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(workspace=tmp_path / "ws")
    yield ws
    ws.close()


def statuses(report) -> dict[str, str]:
    return {f.path: f.status for f in report.files}


def test_ingest_then_rerun_is_a_no_op(corpus: Path, workspace: Workspace) -> None:
    first = workspace.ingest([corpus])
    assert statuses(first) == {
        "docs/guide/rotate.md": "ingested",
        "docs/guide/start.md": "ingested",
        "docs/notes.txt": "ingested",
    }
    assert first.chunks_embedded == sum(f.n_chunks for f in first.files) > 0
    second = workspace.ingest([corpus])
    assert set(statuses(second).values()) == {"unchanged"}
    assert second.chunks_embedded == 0
    assert workspace.store.count_chunks() == first.chunks_embedded


def test_changed_file_is_replaced_whole_and_reuses_unchanged_chunks(
    corpus: Path, workspace: Workspace
) -> None:
    long_text = "\n\n".join(f"Paragraph {i}: " + "word " * 120 for i in range(6))
    (corpus / "long.md").write_text(long_text, encoding="utf-8")
    first = workspace.ingest([corpus])
    n_long = next(f.n_chunks for f in first.files if f.path == "docs/long.md")
    assert n_long >= 3
    (corpus / "long.md").write_text(long_text + "\n\nA new closing paragraph.", encoding="utf-8")
    second = workspace.ingest([corpus])
    assert statuses(second)["docs/long.md"] == "ingested"
    assert 1 <= second.chunks_embedded < n_long  # only the chunks whose text changed
    texts = [h.chunk.text for h in workspace.search("new closing paragraph", k=3)]
    assert any("new closing paragraph" in t for t in texts)


def test_deleted_files_drop_out_unless_kept(corpus: Path, workspace: Workspace) -> None:
    workspace.ingest([corpus])
    (corpus / "notes.txt").unlink()
    kept = workspace.ingest([corpus], keep_missing=True)
    assert "docs/notes.txt" not in statuses(kept)
    assert "docs/notes.txt" in {d.path for d in workspace.documents()}
    removed = workspace.ingest([corpus])
    assert statuses(removed)["docs/notes.txt"] == "removed"
    assert "docs/notes.txt" not in {d.path for d in workspace.documents()}
    assert all(h.chunk.path != "docs/notes.txt" for h in workspace.search("Route 53 record"))


def test_ingesting_one_folder_leaves_other_folders_alone(
    corpus: Path, tmp_path: Path, workspace: Workspace
) -> None:
    other = make_docs(tmp_path / "other", {"a.md": "# Other\n\nSomething else entirely.\n"})
    workspace.ingest([corpus])
    workspace.ingest([other])
    paths = {d.path for d in workspace.documents()}
    assert "other/a.md" in paths and "docs/notes.txt" in paths


def test_bad_files_are_reported_and_the_rest_ingested(corpus: Path, workspace: Workspace) -> None:
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<<")
    (corpus / "picture.gif").write_bytes(b"GIF89a")
    huge = corpus / "huge.md"
    with huge.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    report = workspace.ingest([corpus])
    by_path = {f.path: f for f in report.files}
    assert by_path["docs/picture.gif"].status == "skipped"
    for name in ("empty.txt", "binary.txt", "broken.pdf", "huge.md"):
        result = by_path[f"docs/{name}"]
        assert result.status == "failed", result
        assert result.reason and "\n" not in result.reason
    assert by_path["docs/huge.md"].reason.startswith("file is 200.0 MB, over the 50.0 MB limit")
    assert report.count("ingested") == 3


def test_search_cites_file_and_filters_by_glob(corpus: Path, workspace: Workspace) -> None:
    workspace.ingest([corpus])
    hits = workspace.search("what happens when the container already exists?", k=3)
    assert hits[0].chunk.path == "docs/guide/start.md"
    assert hits[0].chunk.title == "Start script"
    only_txt = workspace.search("container", k=3, path_glob="*.txt")
    assert only_txt and {h.chunk.path for h in only_txt} == {"docs/notes.txt"}
    for mode in ("bm25", "dense"):
        assert (
            workspace.search("rotate the key", k=1, mode=mode)[0].chunk.path
            == "docs/guide/rotate.md"
        )


def test_index_built_by_another_embedder_is_refused(corpus: Path, tmp_path: Path) -> None:
    with Workspace.open(workspace=tmp_path / "ws") as ws:
        ws.store.set_meta({"embedder": "e5-large-v2", "dim": "1024"})
    with Workspace.open(workspace=tmp_path / "ws") as ws, pytest.raises(EmbedderMismatch) as err:
        ws.ingest([corpus])
    assert "e5-large-v2 (1024-d)" in str(err.value)
    assert "384-d" in str(err.value)


def test_workspace_directory_is_skipped_when_inside_the_ingested_folder(
    corpus: Path, tmp_path: Path
) -> None:
    with Workspace.open(workspace=corpus / ".ragstream-alt") as ws:
        ws.ingest([corpus])
        paths = {d.path for d in ws.documents()}
    assert paths == {"guide/rotate.md", "guide/start.md", "notes.txt"}


def consistent(db: Path) -> None:
    """Every manifest row has exactly its chunks, and no chunk is orphaned."""
    con = sqlite3.connect(db)
    rows = dict(con.execute("SELECT path, n_chunks FROM documents").fetchall())
    counts = dict(con.execute("SELECT path, count(*) FROM chunks GROUP BY path").fetchall())
    con.close()
    assert rows == counts


@pytest.mark.slow
def test_kill_9_mid_ingest_leaves_a_consistent_index_and_the_next_run_finishes(
    tmp_path: Path,
) -> None:
    import signal
    import subprocess
    import sys
    import time

    # 60 documents of two chunks: the first batch commits 32 of them, then the kill lands
    # while the rest are being embedded.
    docs = {f"doc{i:03}.md": f"# Doc {i}\n\n" + f"Fact {i} about deploys. " * 70 for i in range(60)}
    root = make_docs(tmp_path / "many", docs)
    db = tmp_path / "ws" / "index.sqlite"
    env = {**os.environ, "RAGSTREAM_WORKSPACE": str(tmp_path / "ws")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragstream.cli", "ingest", "-q", str(root)],
        env=env,
        cwd=root,  # keys do not depend on the cwd
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    with sqlite3.connect(db) as con:
                        if con.execute("SELECT count(*) FROM documents").fetchone()[0] >= 2:
                            break
                except sqlite3.OperationalError:
                    pass  # tables not created yet
            assert proc.poll() is None, "ingest finished before it could be killed"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    consistent(db)
    with sqlite3.connect(db) as con:
        done = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert 2 <= done < len(docs)
    with Workspace.open(workspace=tmp_path / "ws") as ws:
        report = ws.ingest([root])
        assert report.count("unchanged") == done
        assert report.count("ingested") == len(docs) - done
    consistent(db)
