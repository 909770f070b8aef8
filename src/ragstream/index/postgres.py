"""The scale-out store: PostgreSQL + pgvector behind the same Store protocol as SQLite.

Dense search walks an HNSW index (cosine) and reports the dot product, as SQLite does;
keyword search reads the query terms' postings (written from a generated tsvector by
the same transaction as the chunks, migration 2) in one index-only scan and scores them
with FTS5's own BM25 formula (k1=1.2, b=0.75, idf clamped at 1e-6), so both stores
rank the same data the same way and fusion stays in one place (ragstream.retrieve).
Each `replace_document` is one transaction holding an advisory lock on the path, so
two processes ingesting the same file serialise instead of duplicating chunks.
A collection filter is a WHERE in both searches (dense: with pgvector's iterative
HNSW scan, as for path globs), so it applies before the top-k cut.
Passwords never leave this module: every message and repr shows the URL masked
(ragstream.redact, which also scrubs the password by value).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import numpy as np

from ragstream.errors import ConfigError, StoreError

try:  # the optional extra: every door that opens this store gets this one line
    import psycopg
    from pgvector.psycopg import register_vector
except ModuleNotFoundError as _missing:
    raise ConfigError(
        f"a PostgreSQL database URL is set (RAGSTREAM_DATABASE_URL, --database-url or "
        f"--to) but {_missing.name} is not installed: pip install 'ragstream[postgres]'"
    ) from None
from ragstream.index.access_tables import AccessTables, Step
from ragstream.index.pg_migrations import (
    COVERED_INDEX,
    COVERED_MAX_DIM,
    LATEST,
    MIGRATIONS,
    NARROW_INDEX,
    VERSIONS,
)
from ragstream.index.store import (
    CHUNK_COLUMNS,
    Candidates,
    checked_token_vectors,
    checked_vectors,
)
from ragstream.models import Chunk, DocumentRecord
from ragstream.redact import mask_url, one_line, register_url
from ragstream.text import query_terms

__all__ = ["PostgresStore", "glob_to_regex", "mask_url", "query_words"]

T = TypeVar("T")
SEARCHED_TABLES = "chunks, postings, term_stats, corpus_stats"
MIGRATION_LOCK = 0x5241_4753_7472_6D31  # "RAGStrm1": one migrator at a time
MIN_EF_SEARCH = 100  # HNSW candidate list; raised to 2k for deep searches (max 1000)
# A collection filter leaving at most this many chunks is searched exactly (the
# distances of those rows only, their vectors read from chunks_collection_vectors in
# one index-only scan): cheaper than walking HNSW past the other collections, and
# recall 1.0. Larger ones use HNSW's iterative scan.
EXACT_FILTER_ROWS = 10_000

ENABLE_VECTOR_HINT = (
    "the pgvector extension 'vector' is not enabled and this user cannot enable it: "
    "run 'CREATE EXTENSION vector;' in this database as a superuser or its owner "
    "(on Amazon RDS/Aurora PostgreSQL: as the master user, who has rds_superuser), "
    "then 'ragstream migrate'"
)

# BM25 as FTS5 scores it: idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)),
# k1 = 1.2, b = 0.75, idf = max(ln((N - df + 0.5) / (df + 0.5)), 1e-6).
# Corpus totals come from scalar subqueries: joined as a table, the one-row
# corpus_stats could be estimated at thousands of rows and turn the plan into a scan
# of every posting.
BM25_SQL = """
WITH terms AS (  -- FTS5 scores each query word: two words with one stem count twice
    SELECT s.term, array_length(q.positions, 1) * greatest(ln(
        ((SELECT n_chunks FROM corpus_stats) - s.df + 0.5::float8) / (s.df + 0.5::float8)
    ), 1e-6::float8) AS idf
    FROM unnest(to_tsvector('ragstream', %(words)s)) q
    JOIN term_stats s ON s.term = q.lexeme
    WHERE s.df > 0
)
SELECT p.chunk_id, sum(t.idf * p.tf * 2.2::float8 / (p.tf + 1.2::float8 * (0.25::float8
       + 0.75::float8 * p.dl / (SELECT n_tokens::float8 / greatest(n_chunks, 1)
                                FROM corpus_stats)))) AS score
FROM terms t JOIN postings p ON p.term = t.term
{path_filter}
GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT %(k)s
"""
ADD_POSTINGS_SQL = """
WITH added AS (
    INSERT INTO postings (term, chunk_id, tf, dl, collection)
    SELECT u.lexeme, c.id, coalesce(array_length(u.positions, 1), 1), c.dl, c.collection
    FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) u WHERE c.path = %s
    RETURNING term)
SELECT term, count(*) FROM added GROUP BY term
"""
DELETE_POSTINGS_SQL = """
WITH gone AS (
    DELETE FROM postings p USING chunks c WHERE c.path = %s AND p.chunk_id = c.id
    RETURNING p.term)
SELECT term, count(*) FROM gone GROUP BY term
"""


def glob_to_regex(glob: str) -> str:
    """An fnmatch glob as an anchored PostgreSQL regular expression (same semantics)."""
    out, i, n = ["^"], 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + (1 if i < n and glob[i] == "!" else 0)
            j += 1 if j < n and glob[j] == "]" else 0
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append("\\[")
                continue
            body = glob[i:j].replace("\\", "\\\\")
            i = j + 1
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
        else:
            out.append(c if c.isalnum() else "\\" + c)
    return "".join(out) + "$"


def query_words(text: str) -> str:
    """The words keyword search looks for, as SQLite picks them (stopwords dropped)."""
    return " ".join(query_terms(text))


def _path_lock_key(path: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(path.encode(), digest_size=8).digest(), "big", signed=True
    )


def _as_array(vector: Any) -> np.ndarray:
    # pgvector >= 0.3 loads a Vector object, older versions a numpy array
    values = vector.to_numpy() if hasattr(vector, "to_numpy") else vector
    return np.asarray(values, dtype=np.float32)


def _filters(
    params: dict[str, Any], path_glob: str | None, collections: Sequence[str] | None
) -> str:
    """The WHERE conditions of dense search's filters ("" for none), adding their params."""
    where = []
    if path_glob:
        where.append("path ~ %(glob)s")
        params["glob"] = glob_to_regex(path_glob)
    if collections is not None:
        where.append("collection = ANY(%(collections)s)")
        params["collections"] = list(collections)
    return " AND ".join(where)


class PostgresStore(AccessTables):
    COLLECTION_COLUMNS = (*AccessTables.COLLECTION_COLUMNS, ("postings", "collection"))

    """The Store protocol on a PostgreSQL database, safe across threads.

    One connection serves writes and dense search; keyword search has its own, so the
    retriever's two searches run on the server at the same time.
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        register_url(url)  # a --to URL never went through Settings
        self.where = mask_url(url)
        self._lock = threading.RLock()
        self._keyword_lock = threading.Lock()
        self._hnsw_settings = (0, False)
        self._known_dim: int | None = None
        self.applied: list[int] = []  # migrations this open applied
        self._url = url  # kept to reconnect after the server restarts; never shown
        self._closed = False
        self._tx_depth = 0
        self._conn = self._open_connection(url)
        try:
            version = self.schema_version()
            if version > LATEST:
                raise StoreError(
                    f"{self.where}: the schema is at version {version}, newer than this "
                    f"RAGstream knows ({LATEST}): upgrade RAGstream"
                )
            if self.pending_migrations():
                if not migrate:
                    raise StoreError(
                        f"{self.where}: the schema is at version {version}, this RAGstream "
                        f"needs {LATEST}: run 'ragstream migrate'"
                    )
                self.applied = self.migrate()
            register_vector(self._conn)
            self._keyword_conn = self._open_connection(url)
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self.where})"

    def _open_connection(self, url: str) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=15)
        except psycopg.Error as exc:
            raise StoreError(f"{self.where}: cannot connect ({self._clean(exc)})") from None
        # No server-side prepared statements: a generic plan made while the index was
        # small (a seq scan) would stay cached as it grows; planning these takes < 1 ms.
        conn.prepare_threshold = None
        return conn

    # --- errors and transactions -------------------------------------------------------
    def _clean(self, exc: BaseException) -> str:
        return one_line(exc)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.UniqueViolation:
            raise StoreError(
                f"{self.where}: {action} failed: a chunk id is already used by another chunk; "
                "chunk ids must be unique"
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"{self.where}: {action} failed ({self._clean(exc)}); nothing of it was kept: "
                "run it again (the connection is re-opened)"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(f"{self.where}: {action} failed ({self._clean(exc)})") from None

    def _live(self, keyword: bool = False) -> psycopg.Connection[Any]:
        """The connection, re-opened if the last use found it dead (a server restart, a
        dropped link): call with its lock held."""
        name = "_keyword_conn" if keyword else "_conn"
        conn: psycopg.Connection[Any] = getattr(self, name)
        if conn.closed and not self._closed:
            conn = self._open_connection(self._url)
            register_vector(conn)
            setattr(self, name, conn)
            if not keyword:
                self._hnsw_settings = (0, False)  # session settings died with the old one
        return conn

    @contextmanager
    def _transaction(self, action: str) -> Iterator[psycopg.Cursor[Any]]:
        """A write: never retried here (it may have half-run on the server before the link
        broke); it fails in one line, and the next write gets a fresh connection."""
        with self._lock:
            conn = self._live()
            self._tx_depth += 1
            try:
                with self._errors(action), conn.transaction(), conn.cursor() as cur:
                    yield cur
            finally:
                self._tx_depth -= 1

    def _retrying(
        self, action: str, run: Callable[[psycopg.Connection[Any]], T], keyword: bool = False
    ) -> T:
        """Run an idempotent read; when the connection turns out dead, open a new one and
        run it once more, so `serve` survives a PostgreSQL restart without a restart."""
        with self._keyword_lock if keyword else self._lock:
            conn = self._live(keyword)
            try:
                with self._errors(action):
                    return run(conn)
            except StoreError:
                if not conn.closed or self._closed or self._tx_depth:
                    raise
            with self._errors(action):
                return run(self._live(keyword))

    def _read(self, sql: str, params: Any = None, action: str = "read") -> list[tuple[Any, ...]]:
        def run(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                return cur.execute(sql, params).fetchall()

        return self._retrying(action, run)

    # --- schema ---------------------------------------------------------------------------
    def schema_version(self) -> int:
        rows = self._read(
            "SELECT to_regclass('schema_migrations') IS NOT NULL", action="reading the schema"
        )
        if not rows[0][0]:
            return 0
        rows = self._read("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return int(rows[0][0])

    def pending_migrations(self) -> list[int]:
        """Known migrations not applied yet (by set, not by the highest number: branches
        may add migrations that merge in either order)."""
        if not self._read("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0]:
            return sorted(VERSIONS)
        done = {row[0] for row in self._read("SELECT version FROM schema_migrations")}
        return sorted(VERSIONS - done)

    def migrate(self) -> list[int]:
        """Enable pgvector if needed and apply the missing migrations; returns their numbers."""
        with self._transaction("migrating the schema") as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            self._enable_vector(cur)
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in cur.execute("SELECT version FROM schema_migrations")}
            applied = []
            for version, sql in MIGRATIONS:
                if version not in done:
                    cur.execute(sql.encode())
                    cur.execute("INSERT INTO schema_migrations(version) VALUES (%s)", (version,))
                    applied.append(version)
        return applied

    def _enable_vector(self, cur: psycopg.Cursor[Any]) -> None:
        if cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
            return
        try:
            with self._conn.transaction():  # a savepoint: the failure must not abort the rest
                cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.errors.UndefinedFile:
            raise StoreError(
                f"{self.where}: the pgvector extension is not installed on this server: "
                "install it (e.g. the postgresql-<version>-pgvector package) or use a "
                "managed PostgreSQL that ships it (RDS, Aurora), then 'ragstream migrate'"
            ) from None
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.FeatureNotSupported) as exc:
            raise StoreError(f"{self.where}: {ENABLE_VECTOR_HINT} ({self._clean(exc)})") from None

    def _ensure_vector_index(self, cur: psycopg.Cursor[Any], dim: int) -> None:
        """Fix the embedding column's dimension and build the HNSW index, once."""
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        typmod = cur.execute(
            "SELECT atttypmod FROM pg_attribute "
            "WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
        ).fetchone()
        if typmod and typmod[0] != dim:
            if dim > COVERED_MAX_DIM:  # its entries could no longer hold a vector
                cur.execute("DROP INDEX IF EXISTS chunks_collection_vectors")
                cur.execute(NARROW_INDEX)
            cur.execute(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({dim})")
        # CREATE INDEX would lock out writers even as a no-op: look first
        exists = cur.execute("SELECT to_regclass('chunks_embedding_hnsw')").fetchone()
        if not (exists and exists[0]):
            cur.execute(
                "CREATE INDEX chunks_embedding_hnsw ON chunks "
                "USING hnsw (embedding vector_cosine_ops)"
            )
        covered = cur.execute("SELECT to_regclass('chunks_collection_vectors')").fetchone()
        if dim <= COVERED_MAX_DIM and not (covered and covered[0]):
            cur.execute(COVERED_INDEX)  # see pg_migrations, migration 8
            cur.execute("DROP INDEX IF EXISTS chunks_collection")

    @contextmanager
    def deferred_vector_index(self) -> Iterator[None]:
        """Bulk loading into an empty index (`ragstream copy`): build HNSW once at the end.

        Building the graph in one go is about ten times faster than growing it row by
        row; meanwhile dense search falls back to an exact scan. The tables are then
        analysed, so the first searches are planned for their real size, not an empty
        index. A no-op when the index already holds chunks (a live index keeps its HNSW
        index).
        """
        dim = self._dim()
        if dim is None or self.count_chunks():
            yield
            return
        with self._transaction("dropping the HNSW index for a bulk load") as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cur.execute("DROP INDEX IF EXISTS chunks_embedding_hnsw")
        try:
            yield
        finally:
            with self._transaction("building the HNSW index") as cur:
                self._ensure_vector_index(cur, dim)
                cur.execute(f"ANALYZE {SEARCHED_TABLES}")

    def vacuum(self) -> None:
        """VACUUM ANALYZE: what autovacuum does, at once (after a bulk load, for benches)."""
        with self._lock, self._errors("vacuuming"):
            self._live().execute(f"VACUUM (ANALYZE) {SEARCHED_TABLES}")

    # --- meta and manifest ----------------------------------------------------------------
    def get_meta(self) -> dict[str, str]:
        return dict(self._read("SELECT key, value FROM meta", action="reading index metadata"))

    def set_meta(self, meta: dict[str, str]) -> None:
        with self._transaction("writing index metadata") as cur:
            cur.executemany(
                "INSERT INTO meta(key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(k, str(v)) for k, v in meta.items()],
            )
            if "dim" in meta:
                self._ensure_vector_index(cur, int(meta["dim"]))
        self._known_dim = None

    def _dim(self) -> int | None:
        """The index's vector dimension; fixed once known, so read it once."""
        if self._known_dim is None:
            dim = self.get_meta().get("dim")
            self._known_dim = int(dim) if dim is not None else None
        return self._known_dim

    def documents(self, collections: Sequence[str] | None = None) -> list[DocumentRecord]:
        where = "" if collections is None else "WHERE collection = ANY(%(c)s)"
        rows = self._read(
            "SELECT path, sha256, size, mtime, n_chunks, n_pages, ingested_at, collection "
            f"FROM documents {where} ORDER BY path",
            {"c": list(collections or ())},
            action="reading the manifest",
        )
        return [DocumentRecord(*row) for row in rows]

    # --- writes ---------------------------------------------------------------------------
    def replace_document(
        self,
        doc: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        token_vectors: Sequence[bytes | None] | None = None,
    ) -> None:
        vectors = checked_vectors(doc.path, chunks, vectors, self._dim())
        tokens = checked_token_vectors(doc.path, chunks, token_vectors)
        with self._transaction(f"storing {doc.path}") as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_path_lock_key(doc.path),))
            removed, df_change = self._delete_chunks(cur, doc.path)
            columns = f"{CHUNK_COLUMNS}, embedding, collection"
            with cur.copy(f"COPY chunks ({columns}) FROM STDIN") as copy:
                for c, vector in zip(chunks, vectors, strict=True):
                    copy.write_row((c.id, doc.path, c.text, c.ordinal, c.page, c.title,
                                    c.section_index, c.start, c.end, c.n_tokens,
                                    c.line_start, c.line_end, vector, doc.collection))  # fmt: skip
            if tokens:  # their old rows went with the old chunks (ON DELETE CASCADE)
                with cur.copy("COPY chunk_token_vectors (chunk_id, data) FROM STDIN") as copy:
                    for row in tokens:
                        copy.write_row(row)
            added = cur.execute(
                "SELECT count(*), coalesce(sum(dl), 0) FROM chunks WHERE path = %s",
                (doc.path,),
            ).fetchone()
            for term, df in cur.execute(ADD_POSTINGS_SQL, (doc.path,)):
                df_change[term] = df_change.get(term, 0) + df
            cur.execute(
                "INSERT INTO documents (path, sha256, size, mtime, n_chunks, n_pages, "
                "ingested_at, collection) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, "
                "size = excluded.size, mtime = excluded.mtime, n_chunks = excluded.n_chunks, "
                "n_pages = excluded.n_pages, ingested_at = excluded.ingested_at, "
                "collection = excluded.collection",
                (doc.path, doc.sha256, doc.size, doc.mtime, doc.n_chunks, doc.n_pages,
                 doc.ingested_at, doc.collection),
            )  # fmt: skip
            assert added is not None
            self._add_stats(cur, added[0] - removed[0], added[1] - removed[1], df_change)

    def remove_document(self, path: str, collections: Sequence[str] | None = None) -> bool:
        """Remove `path` if it is in one of `collections` (None: any)."""
        with self._transaction(f"removing {path}") as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_path_lock_key(path),))
            if collections is None:
                cur.execute("DELETE FROM documents WHERE path = %s", (path,))
            else:
                cur.execute(
                    "DELETE FROM documents WHERE path = %s AND collection = ANY(%s)",
                    (path, list(collections)),
                )
            if cur.rowcount <= 0:
                return False
            removed, df_change = self._delete_chunks(cur, path)
            self._add_stats(cur, -removed[0], -removed[1], df_change)
            return True

    def delete_collection(self, name: str, actor: str = "local") -> int:
        """Delete a collection with its documents, chunks, vectors and postings."""
        self._check_changeable(name)
        with self._transaction(f"deleting collection {name}") as cur:
            paths = [row[0] for row in cur.execute(
                "SELECT path FROM documents WHERE collection = %s ORDER BY path", (name,)
            )]  # fmt: skip
            chunks, tokens, df_change = 0, 0, dict[str, int]()
            for path in paths:  # sorted: concurrent writers take path locks in one order
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_path_lock_key(path),))
                (n, t), change = self._delete_chunks(cur, path)
                chunks, tokens = chunks + n, tokens + t
                for term, df in change.items():
                    df_change[term] = df_change.get(term, 0) + df
            cur.execute("DELETE FROM documents WHERE collection = %s", (name,))
            for sql, params in self._collection_dropped(name, actor, len(paths)):
                cur.execute(sql.replace("?", "%s").encode(), params)
            self._add_stats(cur, -chunks, -tokens, df_change)
        return len(paths)

    # --- the access tables (index/access_tables.py) ------------------------------------
    def _access_read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
        return self._read(sql.replace("?", "%s"), params, action="reading access tables")

    def _access_write(self, steps: Sequence[Step], action: str) -> list[int]:
        with self._transaction(action) as cur:
            counts = []
            for sql, params in steps:
                cur.execute(sql.replace("?", "%s").encode(), params)
                counts.append(cur.rowcount)
            return counts

    @staticmethod
    def _delete_chunks(
        cur: psycopg.Cursor[Any], path: str
    ) -> tuple[tuple[int, int], dict[str, int]]:
        """Delete a path's chunks and postings: (chunks, tokens) gone, and df changes."""
        df_change = {term: -n for term, n in cur.execute(DELETE_POSTINGS_SQL, (path,))}
        row = cur.execute(
            "WITH gone AS (DELETE FROM chunks WHERE path = %s RETURNING dl) "
            "SELECT count(*), coalesce(sum(dl), 0) FROM gone",
            (path,),
        ).fetchone()
        assert row is not None
        return (int(row[0]), int(row[1])), df_change

    @staticmethod
    def _add_stats(
        cur: psycopg.Cursor[Any], chunks: int, tokens: int, df_change: dict[str, int]
    ) -> None:
        """Last in the transaction, so the hot rows stay locked briefly; terms in sorted
        order, so two writers lock them in the same order and never deadlock."""
        changed = sorted((term, n) for term, n in df_change.items() if n)
        if changed:
            cur.execute(
                "INSERT INTO term_stats (term, df) "
                "SELECT * FROM unnest(%s::text[], %s::integer[]) ORDER BY 1 "
                "ON CONFLICT (term) DO UPDATE SET df = term_stats.df + excluded.df",
                ([t for t, _ in changed], [n for _, n in changed]),
            )
        if chunks or tokens:
            cur.execute(
                "UPDATE corpus_stats SET n_chunks = n_chunks + %s, n_tokens = n_tokens + %s",
                (chunks, tokens),
            )

    # --- reads ----------------------------------------------------------------------------
    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._read(
            "SELECT id, embedding FROM chunks WHERE id = ANY(%s)", (list(set(chunk_ids)),)
        )
        return {cid: _as_array(vector) for cid, vector in rows}

    def token_vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        rows = self._read(
            "SELECT chunk_id, data FROM chunk_token_vectors WHERE chunk_id = ANY(%s)",
            (list(set(chunk_ids)),),
        )
        return {cid: bytes(data) for cid, data in rows}

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        rows = self._read(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id = ANY(%s)", (list(set(ids)),)
        )
        by_id = {row[0]: Chunk(*row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def chunk_ids(self, path: str) -> list[str]:
        """The ids of one document's chunks, in order (used by `ragstream copy`)."""
        rows = self._read("SELECT id FROM chunks WHERE path = %s ORDER BY ordinal, id", (path,))
        return [row[0] for row in rows]

    def count_chunks(self) -> int:
        return int(self._read("SELECT count(*) FROM chunks")[0][0])

    def keyword_search(
        self,
        query: str,
        k: int,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> Candidates:
        """FTS5's BM25 top k, on a connection of its own: the retriever runs it while the
        query is embedded and searched densely on the other one."""
        words = query_words(query)
        if not words or k <= 0 or (collections is not None and not collections):
            return []
        params: dict[str, Any] = {"words": words, "k": k}
        join, where = "", []
        if path_glob:  # as before collections: each posting's chunk looked up
            join = "JOIN chunks c ON c.id = p.chunk_id"
            where.append("c.path ~ %(glob)s")
            params["glob"] = glob_to_regex(path_glob)
        if collections is not None:  # postings carry it: still one index-only scan
            where.append("p.collection = ANY(%(collections)s)")
            params["collections"] = list(collections)
        sql = BM25_SQL.format(path_filter=f"{join} WHERE {' AND '.join(where)}" if where else "")
        rows = self._retrying(
            "keyword search", lambda conn: conn.execute(sql, params).fetchall(), keyword=True
        )
        return [(cid, float(score)) for cid, score in rows]

    def dense_search(
        self,
        vector: np.ndarray,
        k: int,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> Candidates:
        if k <= 0 or (collections is not None and not collections):
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        dim = self._dim()
        if dim is not None and query.shape[0] != dim:
            raise StoreError(f"query vector has dimension {query.shape[0]}, the index {dim}")
        params: dict[str, Any] = {"q": query, "k": k}
        where = _filters(params, path_glob, collections)
        base = f"SELECT id, -(embedding <#> %(q)s) FROM chunks {'WHERE ' + where if where else ''}"
        hnsw = f"{base} ORDER BY embedding <=> %(q)s LIMIT %(k)s"
        exact = f"{base} ORDER BY (embedding <=> %(q)s) + 0 LIMIT %(k)s"  # + 0: not HNSW

        def run(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            if collections is not None:
                rows = conn.execute(
                    "SELECT coalesce(sum(n_chunks), 0) FROM documents "
                    "WHERE collection = ANY(%(collections)s)",
                    params,
                ).fetchone()
                if rows is not None and rows[0] <= EXACT_FILTER_ROWS:
                    return conn.execute(exact, params).fetchall()
            self._configure_hnsw(conn, min(1000, max(MIN_EF_SEARCH, 2 * k)), bool(where))
            return conn.execute(hnsw, params).fetchall()

        rows = self._retrying("dense search", run)
        return [(cid, float(score)) for cid, score in rows]

    def _configure_hnsw(self, conn: psycopg.Connection[Any], ef: int, filtered: bool) -> None:
        """Session settings for HNSW: a wide enough candidate list and, with a path
        filter only, pgvector >= 0.8's iterative scan (it keeps scanning until k rows
        pass the filter, in strict order); a plain search needs no iteration."""
        if (ef, filtered) != self._hnsw_settings:
            conn.execute(f"SET hnsw.ef_search = {int(ef)}")
            # older pgvector lacks the setting and may return fewer than k when filtered
            with suppress(psycopg.Error):
                mode = "strict_order" if filtered else "off"
                conn.execute(f"SET hnsw.iterative_scan = {mode}")
            self._hnsw_settings = (ef, filtered)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._conn.close()
        with self._keyword_lock:
            self._keyword_conn.close()
