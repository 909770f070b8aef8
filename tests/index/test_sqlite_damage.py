"""The SQLite index when the world is hostile (issue 14.6, 14.7): a full disk, a damaged
or truncated file, a read-only workspace, an index from a newer RAGstream. Real files,
real tmpfs mounts; every failure is one line naming the file and what to do."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragstream.errors import DamagedIndex, StoreError
from ragstream.index.sqlite import SqliteStore
from tests.index.store_contract import CORPUS, make_doc, unit
from tests.support.tmpfs import remount_read_only, small_tmpfs


def fill(store: SqliteStore) -> None:
    for seed, (path, texts) in enumerate(CORPUS.items()):
        store.replace_document(*make_doc(path, texts, seed))


def consistent(db: Path) -> tuple[int, int, int]:
    """(chunks, FTS rows, documents' n_chunks sum) after a full integrity check."""
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        fts = conn.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
        listed = conn.execute("SELECT coalesce(sum(n_chunks), 0) FROM documents").fetchone()[0]
        return chunks, fts, listed
    finally:
        conn.close()


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    with small_tmpfs("2m") as root:
        yield root


def test_disk_full_names_the_disk_keeps_the_index_and_reads_go_on(tmpfs: Path) -> None:
    db = tmpfs / "ws" / "index.sqlite"
    db.parent.mkdir()
    store = SqliteStore(db)
    fill(store)
    big = [f"filler text number {i} " * 400 for i in range(40)]  # ~0.3 MB a document
    with pytest.raises(StoreError) as info:
        for n in range(100):
            store.replace_document(*make_doc(f"bulk/{n}.txt", big, seed=n))
    message = str(info.value)
    assert message.startswith(f"disk full at {db}: storing bulk/") and "\n" not in message
    assert "rollback" not in message
    stored = {d.path for d in store.documents()}
    assert set(CORPUS) <= stored
    store.close()
    chunks, fts, listed = consistent(db)
    assert chunks == fts == listed
    # docs and search keep working on the full disk, through a fresh open as a CLI would
    reader = SqliteStore(db)
    try:
        assert {d.path for d in reader.documents()} == stored
        assert reader.keyword_search("ninety days", 3)
        assert reader.dense_search(unit(0), 3)
    finally:
        reader.close()


def test_an_index_truncated_to_zero_bytes_is_reported_not_empty(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    store = SqliteStore(db)
    fill(store)
    store.close()
    db.write_bytes(b"")  # truncated: SQLite alone would call it a new, empty index
    with pytest.raises(DamagedIndex, match=r"index file is empty \(0 bytes\).*ragstream doctor"):
        SqliteStore(db)
    assert db.stat().st_size == 0  # and nothing was written into it


def scribble(db: Path, seed: int = 7) -> None:
    """Random bytes over the pages after the first, as a failing disk would leave them."""
    data = bytearray(db.read_bytes())
    rng = np.random.default_rng(seed)
    page = 4096
    for start in range(page * 2, len(data) - page, page * 2):
        data[start + 100 : start + 600] = rng.integers(0, 256, 500, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))


def test_a_damaged_index_refuses_writes_with_a_recovery_hint(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    store = SqliteStore(db)
    fill(store)
    for n in range(30):  # enough pages for the scribbles to hit b-tree pages
        store.replace_document(*make_doc(f"more/{n}.md", [f"text {n} " * 200] * 3, seed=n))
    store.close()
    scribble(db)
    before = db.read_bytes()
    try:
        damaged = SqliteStore(db)
    except DamagedIndex as exc:  # the damage can be bad enough to refuse the open
        assert "ragstream doctor" in str(exc)
        return
    assert damaged.damage
    with pytest.raises(DamagedIndex, match=r"refusing storing a\.md: the index is damaged.*"
                       r"ragstream doctor --rebuild"):  # fmt: skip
        damaged.replace_document(*make_doc("a.md", ["new"]))
    with pytest.raises(DamagedIndex, match=r"refusing removing docs/keys\.md"):
        damaged.remove_document("docs/keys.md")
    damaged.close()
    assert db.read_bytes() == before  # not one byte written


def test_a_read_only_workspace_without_wal_or_shm_opens_read_only(tmpfs: Path) -> None:
    db = tmpfs / "index.sqlite"
    store = SqliteStore(db)
    fill(store)
    store.close()
    assert not os.path.exists(f"{db}-wal") and not os.path.exists(f"{db}-shm")
    remount_read_only(tmpfs)
    reader = SqliteStore(db)
    try:
        assert reader.read_only
        assert [d.path for d in reader.documents()] == sorted(CORPUS)
        assert reader.keyword_search("ninety", 3) and reader.dense_search(unit(0), 3)
        with pytest.raises(StoreError, match="needs write access to"):
            reader.replace_document(*make_doc("a.md", ["new"]))
    finally:
        reader.close()


def test_an_index_from_a_newer_ragstream_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    SqliteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match=r"schema version 99, newer .*upgrade RAGstream"):
        SqliteStore(db)


def test_an_index_cut_short_is_damaged_not_silently_smaller(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    store = SqliteStore(db)
    fill(store)
    for n in range(20):
        store.replace_document(*make_doc(f"more/{n}.md", [f"text {n} " * 200] * 3, seed=n))
    store.close()
    with db.open("r+b") as f:  # a copy that stopped half way
        f.truncate(db.stat().st_size // 2)
    try:
        damaged = SqliteStore(db)
    except DamagedIndex as exc:
        assert "ragstream doctor" in str(exc)
        return
    try:
        assert damaged.damage
        with pytest.raises(DamagedIndex, match="refusing"):
            damaged.set_meta({"x": "1"})
    finally:
        damaged.close()
