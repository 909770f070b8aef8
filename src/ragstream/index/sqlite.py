"""The embedded store: one SQLite file holding the manifest, chunks, vectors and an FTS5 index.

WAL mode lets searches run while an ingest writes. Keyword search is FTS5's bm25();
dense search is cosine over a float32 matrix kept in memory (index/dense.py) and reloaded
only when a `generation` counter in `meta` moved (every write bumps it inside its own
transaction, so readers in other processes notice too). Path globs use fnmatch semantics
in both searches (registered as an SQL function), so both filter the same way; a
collection filter is a WHERE in keyword search and a row mask in dense search, both
applied before the top-k cut. Schema version 2 (collections, members, users, audit)
is added to an older file on first writable open, without touching chunks or vectors.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

import numpy as np

from ragstream.errors import DamagedIndex, StoreError
from ragstream.index import sqlite_health as health
from ragstream.index.access_tables import AccessTables, Step
from ragstream.index.dense import DenseIndex
from ragstream.index.store import (
    CHUNK_COLUMNS,
    Candidates,
    checked_token_vectors,
    checked_vectors,
)
from ragstream.models import Chunk, DocumentRecord
from ragstream.text import query_terms

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL,
    n_chunks INTEGER NOT NULL, n_pages INTEGER, ingested_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, text TEXT NOT NULL,
    ordinal INTEGER NOT NULL, page INTEGER, title TEXT, section_index INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, n_tokens INTEGER NOT NULL,
    vector BLOB NOT NULL, line_start INTEGER, line_end INTEGER);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, content='chunks', content_rowid='rowid', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, title, text)
    VALUES ('delete', old.rowid, old.title, old.text);
END;
"""
# ColBERT passage token vectors (retrieve/colbert_codec.py), stored at ingest when the
# reranker is colbert. A table of its own, so the wide blobs never slow a scan of chunks;
# the trigger removes them with their chunk, whichever way the chunk goes. Created on
# every writable open (IF NOT EXISTS): an older index gains it without a version bump,
# and its chunks, having none, are encoded at query time.
TOKEN_VECTORS_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk_token_vectors (chunk_id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS chunks_token_vectors_ad AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_token_vectors WHERE chunk_id = old.id;
END;
"""
# Columns added after schema version 1: (name, type), added to older index files on open.
ADDED_IN_VERSION_2 = (("line_start", "INTEGER"), ("line_end", "INTEGER"))
# Schema version 3: every document and chunk belongs to one collection (existing ones to
# `default`: adding a column with a default rewrites nothing, so rowids, the FTS index and
# the vectors stay as they were and rankings do not change).
COLLECTIONS_SCHEMA = """
ALTER TABLE documents ADD COLUMN collection TEXT NOT NULL DEFAULT 'default';
ALTER TABLE chunks ADD COLUMN collection TEXT NOT NULL DEFAULT 'default';
-- (rowid, collection): keyword search checks a match's collection with one seek in this
-- small index, never reading the wide chunk row (its vector sits before the column)
CREATE INDEX chunks_rowid_collection ON chunks(rowid, collection);
CREATE INDEX chunks_collection ON chunks(collection);
CREATE TABLE collections (name TEXT PRIMARY KEY, created_at REAL NOT NULL);
INSERT INTO collections VALUES ('default', CAST(strftime('%s', 'now') AS REAL));
CREATE TABLE members (collection TEXT NOT NULL, principal TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (collection, principal));
CREATE INDEX members_principal ON members(principal);
CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
DOCUMENT_COLUMNS = "path, sha256, size, mtime, n_chunks, n_pages, ingested_at, collection"


def in_list(column: str, values: Sequence[str]) -> str:
    """`column IN (?, ...)`; an empty list matches nothing (never "no filter")."""
    return f"{column} IN ({','.join('?' * len(values))})" if values else "0"


def fts_query(text: str) -> str:
    """Any user text as a safe FTS5 expression: each word quoted, ORed; "" when no words."""
    return " OR ".join(f'"{w}"' for w in query_terms(text))


@lru_cache(maxsize=4096)
def _glob_match(path: str, glob: str) -> bool:
    return fnmatchcase(path, glob)


class _Matrix:
    """The vectors of all chunks in rowid order, with their ids, paths and collections."""

    def __init__(
        self,
        generation: str,
        ids: list[str],
        paths: list[str],
        collections: list[str],
        vectors: np.ndarray,
    ):
        self.generation = generation
        self.ids = ids
        self.paths = np.asarray(paths, dtype=object)
        # collections as small integer codes: a mask is one np.isin over int32
        names, codes = np.unique(np.asarray(collections, dtype=object), return_inverse=True)
        self._collection_code = {str(name): i for i, name in enumerate(names.tolist())}
        self._collection_codes = codes.astype(np.int32).reshape(-1)
        self.dense = DenseIndex(vectors)
        self._masks: dict[str, np.ndarray] = {}

    def collection_mask(self, collections: Sequence[str]) -> np.ndarray:
        """Rows in these collections; remembered per set until the matrix is reloaded."""
        key = "\0collections:" + "\0".join(sorted(set(collections)))
        if key not in self._masks:
            wanted = [self._collection_code[c] for c in collections if c in self._collection_code]
            if len(self._masks) >= 32:
                self._masks.clear()
            self._masks[key] = np.isin(self._collection_codes, np.asarray(wanted, np.int32))
        return self._masks[key]

    def filter_mask(
        self, path_glob: str | None, collections: Sequence[str] | None
    ) -> np.ndarray | None:
        mask = self.mask(path_glob) if path_glob else None
        if collections is not None:
            allowed = self.collection_mask(collections)
            mask = allowed if mask is None else mask & allowed
        return mask

    def mask(self, path_glob: str) -> np.ndarray:
        """Rows whose path matches; remembered per glob until the matrix is reloaded."""
        if path_glob not in self._masks:
            keep = {p for p in set(self.paths.tolist()) if _glob_match(p, path_glob)}
            if len(self._masks) >= 32:
                self._masks.clear()
            self._masks[path_glob] = np.fromiter(
                (p in keep for p in self.paths), dtype=bool, count=len(self.paths)
            )
        return self._masks[path_glob]


class SqliteStore(AccessTables):
    """The Store protocol on one SQLite file; safe to share between threads.

    Opening checks the file (truncated? schema version? quick_check, time-bounded): a
    damaged index still serves the reads that work but refuses every write, and one
    this process cannot write is opened read-only (`read_only`).
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._lock = threading.RLock()
        self._dense_lock = threading.Lock()
        self._matrix_lock = threading.Lock()
        self._matrix: _Matrix | None = None
        self.damage: str | None = None  # what the open-time check found wrong
        if health.truncated(self.db_path):
            raise health.truncated_error(self.db_path)
        existed = self.db_path.exists()
        self.read_only = health.read_only_place(self.db_path)
        with self._errors("opening the index"):
            self._conn = self._connect()
            try:
                health.check_version(self.db_path, self._user_version())
                # checked before anything is written: a damaged file stays as it was found
                self.damage = health.quick_check(self._conn) if existed else None
                if (
                    self._user_version() < health.SCHEMA_VERSION
                    and existed
                    and (self.read_only or self.damage)
                ):
                    raise StoreError(
                        f"{self.db_path}: the index was made by an older RAGstream and needs "
                        "an upgrade (collections): open it once where it can be written"
                    )
                if not (self.read_only or self.damage):
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    self._conn.execute("PRAGMA synchronous=NORMAL")
                    self._create_schema()
                # Dense search reads through its own connection, so in hybrid mode it never
                # waits for a keyword search running on another thread (WAL: readers overlap).
                self._dense_conn = self._connect()
                self._chunk_columns = self._readable_chunk_columns()
                self._has_token_vectors = bool(
                    self._conn.execute(
                        "SELECT 1 FROM sqlite_master WHERE name = 'chunk_token_vectors'"
                    ).fetchone()
                )
            except BaseException:
                self._conn.close()
                raise

    def _connect(self) -> sqlite3.Connection:
        target, uri = str(self.db_path), False
        if self.read_only:
            target, uri = health.read_only_uri(self.db_path), True
        conn = sqlite3.connect(
            target, timeout=30.0, isolation_level=None, check_same_thread=False, uri=uri
        )
        conn.create_function("path_glob", 2, _glob_match, deterministic=True)
        return conn

    def _create_schema(self) -> None:
        # executescript commits any open transaction first, so BEGIN goes inside the script
        self._conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} {TOKEN_VECTORS_SCHEMA}")
        try:
            version = self._user_version()
            health.check_version(self.db_path, version)
            have = {row[1] for row in self._conn.execute("PRAGMA table_info(chunks)")}
            for name, kind in ADDED_IN_VERSION_2:  # an index from before line ranges
                if name not in have:
                    self._conn.execute(f"ALTER TABLE chunks ADD COLUMN {name} {kind}")
            if "collection" not in have:  # an index from before collections
                for statement in COLLECTIONS_SCHEMA.split(";\n"):
                    if statement.strip():
                        self._conn.execute(statement)
            if version != health.SCHEMA_VERSION:  # setting it rewrites the header: only once
                self._conn.execute(f"PRAGMA user_version = {health.SCHEMA_VERSION}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _readable_chunk_columns(self) -> str:
        """CHUNK_COLUMNS, with NULL for line ranges an old read-only or damaged index
        lacks (it is never migrated, see _create_schema)."""
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(chunks)")}
        return (
            CHUNK_COLUMNS
            if "line_start" in have or not have
            else CHUNK_COLUMNS.replace("line_start, line_end", "NULL, NULL")
        )

    def _user_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @property
    def where(self) -> str:
        """Where the index lives, for messages."""
        return str(self.db_path)

    # --- errors and transactions ---------------------------------------------------
    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """The one place sqlite3 errors become StoreErrors (see index/sqlite_health.py)."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise StoreError(
                f"{self.db_path}: {action} failed: a chunk id is already used by another "
                f"chunk ({exc}); chunk ids must be unique"
            ) from None
        except sqlite3.Error as exc:
            raise health.translate(self.db_path, action, exc) from None

    def _rollback(self) -> None:
        # After SQLITE_FULL (and some I/O errors) SQLite has rolled back already; a second
        # ROLLBACK would fail and hide the real cause behind "no transaction is active".
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    @contextmanager
    def _write(self, action: str = "writing") -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction that bumps the generation; rolled back on any error."""
        if self.read_only:
            raise StoreError(
                f"{self.db_path}: {action} needs write access to {self.db_path.parent}, "
                "which this process lacks: docs and search work, writes do not"
            )
        if self.damage:
            raise DamagedIndex(
                f"{self.db_path}: refusing {action}: the index is damaged ({self.damage}): "
                f"{health.RECOVERY_HINT}"
            )
        with self._lock, self._errors(action):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('generation', '1') ON CONFLICT(key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _read(self, sql: str, params: Sequence[object] = (), dense: bool = False) -> list[tuple]:
        conn, lock = (self._dense_conn, self._dense_lock) if dense else (self._conn, self._lock)
        with lock, self._errors("reading the index"):
            return conn.execute(sql, params).fetchall()

    # --- meta and manifest ----------------------------------------------------------
    def get_meta(self) -> dict[str, str]:
        rows = self._read("SELECT key, value FROM meta WHERE key != 'generation'")
        return dict(rows)

    def set_meta(self, meta: dict[str, str]) -> None:
        with self._write("writing index metadata") as conn:
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, str(v)) for k, v in meta.items() if k != "generation"],
            )

    def documents(self, collections: Sequence[str] | None = None) -> list[DocumentRecord]:
        where, params = "", tuple[str, ...]()
        if collections is not None:
            where, params = f"WHERE {in_list('collection', collections)}", tuple(collections)
        rows = self._read(f"SELECT {DOCUMENT_COLUMNS} FROM documents {where} ORDER BY path", params)
        return [DocumentRecord(*row) for row in rows]

    # --- writes ---------------------------------------------------------------------
    def replace_document(
        self,
        doc: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        token_vectors: Sequence[bytes | None] | None = None,
    ) -> None:
        dim = self.get_meta().get("dim")
        vectors = checked_vectors(doc.path, chunks, vectors, int(dim) if dim else None)
        tokens = checked_token_vectors(doc.path, chunks, token_vectors)
        rows = [
            (c.id, doc.path, c.text, c.ordinal, c.page, c.title, c.section_index, c.start,
             c.end, c.n_tokens, c.line_start, c.line_end, vectors[i].tobytes(), doc.collection)
            for i, c in enumerate(chunks)
        ]  # fmt: skip
        with self._write(f"storing {doc.path}") as conn:
            conn.execute("DELETE FROM chunks WHERE path = ?", (doc.path,))
            conn.executemany(
                f"INSERT INTO chunks({CHUNK_COLUMNS}, vector, collection) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.executemany(
                "INSERT OR REPLACE INTO chunk_token_vectors(chunk_id, data) VALUES (?, ?)", tokens
            )
            conn.execute(
                f"INSERT OR REPLACE INTO documents ({DOCUMENT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.path, doc.sha256, doc.size, doc.mtime, doc.n_chunks, doc.n_pages,
                 doc.ingested_at, doc.collection),
            )  # fmt: skip

    def remove_document(self, path: str, collections: Sequence[str] | None = None) -> bool:
        """Remove `path` if it is in one of `collections` (None: any)."""
        where, params = "path = ?", tuple[str, ...]((path,))
        if collections is not None:
            where = f"path = ? AND {in_list('collection', collections)}"
            params = (path, *collections)
        with self._write(f"removing {path}") as conn:
            removed = conn.execute(f"DELETE FROM documents WHERE {where}", params).rowcount
            if removed:
                conn.execute("DELETE FROM chunks WHERE path = ?", (path,))
        return bool(removed > 0)

    def delete_collection(self, name: str, actor: str = "local") -> int:
        """Delete a collection with its documents, chunks and vectors; returns documents."""
        self._check_changeable(name)
        with self._write(f"deleting collection {name}") as conn:
            conn.execute("DELETE FROM chunks WHERE collection = ?", (name,))
            gone = conn.execute("DELETE FROM documents WHERE collection = ?", (name,)).rowcount
            for sql, params in self._collection_dropped(name, actor, gone):
                conn.execute(sql, params)
        return int(gone)

    # --- the access tables (index/access_tables.py) ---------------------------------
    def _access_read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
        return self._read(sql, params)

    def _access_write(self, steps: Sequence[Step], action: str) -> list[int]:
        with self._write(action) as conn:
            return [conn.execute(sql, params).rowcount for sql, params in steps]

    # --- reads ----------------------------------------------------------------------
    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        ids = list(dict.fromkeys(chunk_ids))
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            for cid, blob in self._read(
                f"SELECT id, vector FROM chunks WHERE id IN ({marks})", batch
            ):
                found[cid] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def token_vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        if not self._has_token_vectors:  # an old index opened read-only: none stored
            return {}
        found: dict[str, bytes] = {}
        ids = list(dict.fromkeys(chunk_ids))
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            found.update(
                self._read(
                    f"SELECT chunk_id, data FROM chunk_token_vectors WHERE chunk_id IN ({marks})",
                    batch,
                )
            )
        return found

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        by_id: dict[str, Chunk] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            batch = unique[start : start + 500]
            marks = ",".join("?" * len(batch))
            for row in self._read(
                f"SELECT {self._chunk_columns} FROM chunks WHERE id IN ({marks})", batch
            ):
                by_id[row[0]] = Chunk(*row)
        return [by_id[i] for i in ids if i in by_id]

    def chunk_ids(self, path: str) -> list[str]:
        """The ids of one document's chunks, in order."""
        rows = self._read("SELECT id FROM chunks WHERE path = ? ORDER BY ordinal, rowid", (path,))
        return [row[0] for row in rows]

    def count_chunks(self) -> int:
        return int(self._read("SELECT count(*) FROM chunks")[0][0])

    @contextmanager
    def deferred_vector_index(self) -> Iterator[None]:
        """Nothing to defer: the dense matrix is built on first search after a write."""
        yield

    def keyword_search(
        self,
        query: str,
        k: int,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> Candidates:
        expression = fts_query(query)
        if not expression or k <= 0 or (collections is not None and not collections):
            return []
        # Rank inside FTS5 (filters checked per match through small lookups), then fetch
        # the ids of the top k only: ~2x faster than joining every match to its chunk.
        where, params = ["chunks_fts MATCH ?"], [expression]
        if path_glob:
            where.append(
                "path_glob((SELECT x.path FROM chunks x WHERE x.rowid = chunks_fts.rowid), ?)"
            )
            params.append(path_glob)
        if collections is not None:
            where.append(
                "(SELECT x.collection FROM chunks x INDEXED BY chunks_rowid_collection "
                f"WHERE x.rowid = chunks_fts.rowid) IN ({','.join('?' * len(collections))})"
            )
            params.extend(collections)
        rows = self._read(
            "SELECT c.id, f.score FROM (SELECT rowid, -bm25(chunks_fts) AS score "
            f"FROM chunks_fts WHERE {' AND '.join(where)} ORDER BY bm25(chunks_fts) LIMIT ?) f "
            "JOIN chunks c ON c.rowid = f.rowid ORDER BY f.score DESC",
            (*params, k),
        )
        return [(cid, float(score)) for cid, score in rows]

    def dense_search(
        self,
        vector: np.ndarray,
        k: int,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> Candidates:
        matrix = self._current_matrix()
        if k <= 0 or not matrix.ids or (collections is not None and not collections):
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        dim = matrix.dense.vectors.shape[1]
        if query.shape[0] != dim:
            raise StoreError(f"query vector has dimension {query.shape[0]}, the index {dim}")
        rows, scores = matrix.dense.top_k(query, k, matrix.filter_mask(path_glob, collections))
        return [
            (matrix.ids[i], float(s)) for i, s in zip(rows.tolist(), scores.tolist(), strict=True)
        ]

    def _current_matrix(self) -> _Matrix:
        """The cached matrix, reloaded only when another write happened since it was read."""
        with self._matrix_lock:
            rows = self._read("SELECT value FROM meta WHERE key = 'generation'", dense=True)
            generation = rows[0][0] if rows else "0"
            if self._matrix is None or self._matrix.generation != generation:
                data = self._read(
                    "SELECT id, path, vector, collection FROM chunks ORDER BY rowid", dense=True
                )
                dim = len(data[0][2]) // 4 if data else 0
                blob = b"".join(row[2] for row in data)
                if len(blob) != dim * 4 * len(data):
                    raise StoreError(f"{self.db_path}: stored vectors differ in dimension")
                vectors = np.frombuffer(blob, dtype=np.float32).reshape(len(data), dim)
                ids = [row[0] for row in data]
                paths, collections = [row[1] for row in data], [row[3] for row in data]
                self._matrix = _Matrix(generation, ids, paths, collections, vectors)
            return self._matrix

    def close(self) -> None:
        with self._lock, self._dense_lock:
            self._conn.close()
            self._dense_conn.close()
            self._matrix = None
