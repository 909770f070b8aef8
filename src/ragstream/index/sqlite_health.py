"""What can go wrong with the SQLite index file, each said in one line with what to do.

sqlite3's errors are translated here (and only here): a full disk names the disk, damage
(a malformed page, a file that is not a database, one truncated to 0 bytes) names the
file and the way back (`ragstream doctor`), a read-only workspace is opened read-only
so `docs` and `search` still work. The open-time check is PRAGMA quick_check stopped
after QUICK_CHECK_SECONDS, so opening a large index never waits long; `ragstream
doctor` runs the full checks.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ragstream.errors import DamagedIndex, StoreError

SCHEMA_VERSION = 2  # PRAGMA user_version of an index this RAGstream writes (2: line ranges)
QUICK_CHECK_SECONDS = 0.5
RECOVERY_HINT = (
    "run 'ragstream doctor' to see what is wrong; 'ragstream doctor --rebuild' moves the "
    "file aside and re-ingests the documents from their source files"
)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def translate(db_path: Path, action: str, exc: sqlite3.Error) -> StoreError:
    """One StoreError line for any sqlite3 error met while doing `action`."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # primary result code
    text = one_line(exc)
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        return StoreError(
            f"disk full at {db_path}: {action} failed and nothing of it was kept; "
            "free space on that disk and run it again"
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in text:
        return DamagedIndex(f"{db_path}: the index is damaged ({text}): {RECOVERY_HINT}")
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(
            f"{db_path}: {action} failed: the index is read-only here ({text}); docs and "
            f"search work, writing needs write access to {db_path.parent}"
        )
    return StoreError(f"{db_path}: {action} failed ({text})")


def truncated(db_path: Path) -> bool:
    """An index file of 0 bytes: SQLite would read it as a new, empty index. A store
    writes the header when it first opens a file, so 0 bytes means it was cut (unless
    the writes still sit in the -wal beside it)."""
    try:
        if db_path.stat().st_size:
            return False
    except FileNotFoundError:
        return False
    wal = db_path.with_name(db_path.name + "-wal")
    return not (wal.exists() and wal.stat().st_size)


def truncated_error(db_path: Path) -> DamagedIndex:
    return DamagedIndex(
        f"{db_path}: the index file is empty (0 bytes), so it was truncated or replaced: "
        f"restore it from a backup, or {RECOVERY_HINT} (deleting it starts an empty index)"
    )


def read_only_place(db_path: Path) -> bool:
    """An existing index this process cannot write (read-only directory, file or mount):
    opened read-only, since WAL mode would otherwise need to create -wal and -shm."""
    return db_path.exists() and not (
        os.access(db_path.parent, os.W_OK) and os.access(db_path, os.W_OK)
    )


def read_only_uri(db_path: Path) -> str:
    """A URI that reads the index without writing a byte (nor creating -wal/-shm).

    A WAL index needs -shm, which a read-only place cannot hold. With no -wal beside it
    every committed write is in the file and nobody here can add one, so immutable=1
    reads it without -shm (and without locks).
    """
    wal = db_path.with_name(db_path.name + "-wal")
    immutable = read_only_place(db_path) and not wal.exists()
    return f"{db_path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")


def quick_check(conn: sqlite3.Connection, seconds: float = QUICK_CHECK_SECONDS) -> str | None:
    """What PRAGMA quick_check finds wrong (None: nothing, or no time to finish)."""
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc):  # too large to check in time: doctor checks it all
            return None
        return one_line(exc)
    except sqlite3.DatabaseError as exc:
        return one_line(exc)
    finally:
        conn.set_progress_handler(None, 0)
    lines = [line.strip() for row in rows for line in str(row[0]).splitlines()]
    problems = [line for line in lines if line and line != "ok" and not line.startswith("***")]
    if not problems:
        return None
    more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
    return problems[0][:200] + more


def check_version(db_path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{db_path}: the index has schema version {version}, newer than this RAGstream "
            f"knows ({SCHEMA_VERSION}): upgrade RAGstream"
        )


# --- `ragstream doctor`: the full checks, and what a rebuild needs ------------------------
@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str  # one line: what was checked and, when not ok, what to do


def diagnose(db_path: Path) -> list[Finding]:
    """Every check doctor runs on the index file, without writing to it."""
    if not db_path.exists():
        return [Finding(True, f"{db_path}: no index yet (ragstream ingest DIR creates one)")]
    if truncated(db_path):
        return [Finding(False, str(truncated_error(db_path)))]
    found = [Finding(True, f"{db_path}: {db_path.stat().st_size / 1e6:.1f} MB")]
    try:
        conn = sqlite3.connect(read_only_uri(db_path), uri=True)
    except sqlite3.Error as exc:
        return [*found, Finding(False, f"{db_path}: cannot open it ({one_line(exc)})")]
    try:
        found += _checks(db_path, conn)
    except sqlite3.Error as exc:
        found.append(Finding(False, str(translate(db_path, "checking", exc))))
    finally:
        conn.close()
    if read_only_place(db_path):
        found.append(Finding(True, f"{db_path.parent}: read-only here: docs and search only"))
        return found
    # an ingest rewrites a document inside the -wal first: room for a tenth of the index
    free, need = shutil.disk_usage(db_path.parent).free, max(2**20, db_path.stat().st_size // 10)
    hint = "" if free >= need else ": free some space before the next ingest"
    found.append(Finding(free >= need, f"{db_path.parent}: {free / 2**20:.1f} MiB free{hint}"))
    return found


def _checks(db_path: Path, conn: sqlite3.Connection) -> list[Finding]:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    found = [
        Finding(
            version <= SCHEMA_VERSION,
            f"schema version {version} (this RAGstream writes {SCHEMA_VERSION})",
        )
    ]
    rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
    problems = [line for row in rows for line in str(row[0]).splitlines() if line != "ok"]
    if problems:
        found.append(Finding(False, f"integrity check: {problems[-1]}: {RECOVERY_HINT}"))
        return found
    found.append(Finding(True, "integrity check: ok"))
    chunks, listed, fts = conn.execute(
        "SELECT (SELECT count(*) FROM chunks), (SELECT coalesce(sum(n_chunks), 0) "
        "FROM documents), (SELECT count(*) FROM chunks_fts)"
    ).fetchone()
    counts = f"{chunks} chunks, {listed} listed in the manifest, {fts} in the keyword index"
    hint = "" if chunks == listed == fts else f": {RECOVERY_HINT}"
    found.append(Finding(chunks == listed == fts, counts + hint))
    return found


def read_manifest(db_path: Path) -> tuple[list[str], str | None] | None:
    """The manifest's document keys and the embedder spec, read-only; None if unreadable."""
    try:
        conn = sqlite3.connect(read_only_uri(db_path), uri=True)
    except sqlite3.Error:
        return None
    try:
        keys = [row[0] for row in conn.execute("SELECT path FROM documents ORDER BY path")]
        spec = conn.execute("SELECT value FROM meta WHERE key = 'embedder_spec'").fetchone()
        return keys, spec[0] if spec else None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def move_aside(db_path: Path) -> Path:
    """Rename the index (and its -wal/-shm) to `<name>.damaged-<time>`; returns the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = db_path.with_name(db_path.name + suffix)
        if part.exists():
            part.rename(target.with_name(target.name + suffix))
    return target
