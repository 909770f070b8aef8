"""The PostgreSQL store's schema, as numbered migrations applied in order, once each.

Never edit a released migration: add the next number. `schema_migrations` records what
ran; `ragstream migrate` (and opening a store) applies the missing ones in one
transaction under an advisory lock, so two processes cannot migrate at once.

Keyword search mirrors SQLite's FTS5 ("porter unicode61", no stopwords): the text
search configuration `ragstream` stems every word with the original Porter stemmer and
splits words at punctuation, as unicode61 does. `dl` (the
number of indexed tokens) and `corpus_stats` give BM25 its length normalisation.

Migration 2 adds an inverted index: `postings` (one row per chunk and term, with the
term's frequency and the chunk's length) and `term_stats` (document frequencies), so
BM25 reads the query terms' postings from a covering index (an index-only scan)
instead of re-parsing the tsvector of every chunk that matches.

Migration 3 adds each chunk's source line range (`line_start`, `line_end`, inclusive;
NULL where the format has no lines), for citations like `ssh.1.txt L120-145`.

Migration 4 (each migration touches its own columns and tables, and the store applies
whichever are missing, so branches adding them merge in either order) puts every document and chunk
in a collection (`default` for existing rows: a column with a constant default is
added without rewriting the table, so vectors and postings are untouched and rankings
stay the same) and adds the access tables: collections, members, users and an
append-only audit log (a trigger refuses UPDATE and DELETE).

Migration 5 adds `ingest_jobs`, the ingest queue the workers claim from
(ragstream.queue.jobs): one row per job, leased with a visibility timeout.

Migration 6 adds `chunk_token_vectors`: ColBERT passage token vectors per chunk
(retrieve/colbert_codec.py bytes), written with the chunk when the reranker is colbert
and deleted with it by the foreign key's cascade. A table of its own, so the wide blobs
(tens of KB per chunk, TOASTed) never widen a scan of `chunks`.

Migrations 7 and 8 come from collections in a fleet. Migration 7 gives each job the collection its document goes into and who queued it
(the page's chosen collection and signed-in user; jobs queued before are `default`).

Migration 8 adds `chunks_collection_vectors`, a btree on a chunk's collection that
carries its id and vector: a search filtered to a small collection (exact, see
postgres.EXACT_FILTER_ROWS) then reads the vectors in one index-only scan instead of
fetching each from TOAST, where pgvector keeps them (2.5k chunks: ~2 ms instead of
~20). A btree entry holds at most ~2.7 kB, so only vectors of up to COVERED_MAX_DIM
dimensions get it (it replaces migration 4's `chunks_collection`, which the planner
would prefer as it does not count TOAST fetches); wider ones keep the heap path. An
index without a dimension yet
gets it when the first embedder is recorded (PostgresStore._ensure_vector_index).
"""

from __future__ import annotations

# Vectors this wide or narrower fit a btree entry (4 bytes a dimension, plus the id and a
# collection name of up to 128 characters, under btree's ~2,700-byte limit).
COVERED_MAX_DIM = 600
COVERED_INDEX = (
    "CREATE INDEX IF NOT EXISTS chunks_collection_vectors ON chunks (collection) "
    "INCLUDE (id, embedding)"
)
# It replaces migration 4's narrow index on the same column, whose cheaper-looking scan the
# planner would otherwise pick (it does not count TOAST fetches), and is its fallback.
NARROW_INDEX = "CREATE INDEX IF NOT EXISTS chunks_collection ON chunks (collection) INCLUDE (id)"

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
CREATE TEXT SEARCH DICTIONARY ragstream_porter (TEMPLATE = snowball, Language = porter);
CREATE TEXT SEARCH CONFIGURATION ragstream (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION ragstream DROP MAPPING FOR asciihword, hword, numhword;
ALTER TEXT SEARCH CONFIGURATION ragstream ALTER MAPPING
    FOR asciiword, word, hword_part, hword_asciipart, hword_numpart, numword
    WITH ragstream_porter;

CREATE FUNCTION ragstream_token_count(tsvector) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)::integer
            FROM unnest($1));

-- Punctuation separates words, as in unicode61 ("e.g." is e + g, "2.5" is 2 + 5),
-- where PostgreSQL's parser would keep file names, hosts and decimals whole.
CREATE FUNCTION ragstream_words(title text, body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN regexp_replace(coalesce(title, '') || ' ' || body, '[[:punct:]]+', ' ', 'g');

CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

CREATE TABLE documents (
    path text PRIMARY KEY, sha256 text NOT NULL, size bigint NOT NULL,
    mtime double precision NOT NULL, n_chunks integer NOT NULL, n_pages integer,
    ingested_at double precision NOT NULL);

CREATE TABLE chunks (
    id text PRIMARY KEY,
    path text NOT NULL,
    text text NOT NULL,
    ordinal integer NOT NULL,
    page integer,
    title text,
    section_index integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    n_tokens integer NOT NULL,
    embedding vector NOT NULL,
    tsv tsvector GENERATED ALWAYS AS
        (to_tsvector('ragstream'::regconfig, ragstream_words(title, text))) STORED,
    dl integer GENERATED ALWAYS AS (ragstream_token_count(
        to_tsvector('ragstream'::regconfig, ragstream_words(title, text)))) STORED);
CREATE INDEX chunks_path ON chunks (path);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);

-- One row: chunk and token totals for BM25, kept in step by every write.
CREATE TABLE corpus_stats (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    n_chunks bigint NOT NULL, n_tokens bigint NOT NULL);
INSERT INTO corpus_stats VALUES (true, 0, 0);
""",
    ),
    (
        2,
        """
CREATE TABLE postings (
    term text NOT NULL,
    chunk_id text NOT NULL,
    tf integer NOT NULL,
    dl integer NOT NULL,
    PRIMARY KEY (chunk_id, term));
CREATE INDEX postings_by_term ON postings (term) INCLUDE (chunk_id, tf, dl);

CREATE TABLE term_stats (term text PRIMARY KEY, df integer NOT NULL);

INSERT INTO postings (term, chunk_id, tf, dl)
    SELECT u.lexeme, c.id, coalesce(array_length(u.positions, 1), 1), c.dl
    FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) u;
INSERT INTO term_stats SELECT term, count(*) FROM postings GROUP BY term;
""",
    ),
    (
        3,
        """
ALTER TABLE chunks ADD COLUMN line_start integer, ADD COLUMN line_end integer;
""",
    ),
    (
        4,
        """
ALTER TABLE documents ADD COLUMN collection text NOT NULL DEFAULT 'default';
ALTER TABLE chunks ADD COLUMN collection text NOT NULL DEFAULT 'default';
-- The manifest index sizes a filter before dense search picks a plan.
CREATE INDEX chunks_collection ON chunks (collection) INCLUDE (id);
CREATE INDEX documents_collection ON documents (collection) INCLUDE (n_chunks);
-- Postings carry their chunk's collection, so filtered BM25 stays one index-only scan.
ALTER TABLE postings ADD COLUMN collection text NOT NULL DEFAULT 'default';
DROP INDEX postings_by_term;
CREATE INDEX postings_by_term ON postings (term) INCLUDE (chunk_id, tf, dl, collection);
CREATE TABLE collections (name text PRIMARY KEY, created_at double precision NOT NULL);
INSERT INTO collections VALUES ('default', extract(epoch FROM now()));
CREATE TABLE members (collection text NOT NULL, principal text NOT NULL, role text NOT NULL,
    PRIMARY KEY (collection, principal));
CREATE INDEX members_principal ON members (principal);
CREATE TABLE users (name text PRIMARY KEY, password_hash text NOT NULL,
    admin boolean NOT NULL DEFAULT false, created_at double precision NOT NULL);
CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL, actor text NOT NULL, action text NOT NULL,
    target text NOT NULL, detail text NOT NULL);
CREATE FUNCTION ragstream_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION ragstream_audit_append_only();
""",
    ),
    (
        5,
        """
CREATE TABLE ingest_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_key text NOT NULL,            -- what the document is stored and cited under
    blob text NOT NULL,               -- where its bytes are in the blob store
    suffix text NOT NULL,
    sha256 text NOT NULL,
    mtime double precision NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5,
    run_after timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    lease uuid,                       -- fencing token of the current claim
    worker text,
    last_error text,
    n_chunks integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz);
-- Claiming scans only live jobs, oldest first.
CREATE INDEX ingest_jobs_live ON ingest_jobs (run_after, id) WHERE state IN ('queued', 'running');
-- At most one waiting job per document: a newer upload replaces the waiting one.
CREATE UNIQUE INDEX ingest_jobs_one_queued ON ingest_jobs (doc_key) WHERE state = 'queued';
CREATE INDEX ingest_jobs_running_key ON ingest_jobs (doc_key) WHERE state = 'running';
""",
    ),
    (
        6,
        """
CREATE TABLE chunk_token_vectors (
    chunk_id text PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    data bytea NOT NULL);
-- the blobs are already dense int8: compressing them costs CPU and saves little
ALTER TABLE chunk_token_vectors ALTER COLUMN data SET STORAGE EXTERNAL;
""",
    ),
    (
        7,
        """
ALTER TABLE ingest_jobs ADD COLUMN collection text NOT NULL DEFAULT 'default';
ALTER TABLE ingest_jobs ADD COLUMN queued_by text NOT NULL DEFAULT '';
""",
    ),
    (
        8,
        f"""
DO $$
BEGIN
    IF (SELECT atttypmod FROM pg_attribute
        WHERE attrelid = 'chunks'::regclass AND attname = 'embedding')
       BETWEEN 1 AND {COVERED_MAX_DIM} THEN
        {COVERED_INDEX};
        DROP INDEX IF EXISTS chunks_collection;
    END IF;
END $$;
""",
    ),
)

VERSIONS = frozenset(version for version, _ in MIGRATIONS)
LATEST = max(VERSIONS)
