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
BM25 reads the query terms' postings from a covering index instead of re-parsing the
tsvector of every matching chunk. `impact` orders each term's postings best first for
an avgdl of 256 tokens (IMPACT_AVGDL); `ragstream_impact_bound` turns the lowest
impact read into the most any unread posting can score at the real avgdl, which lets
keyword search stop early and still return FTS5's exact top k.
"""

from __future__ import annotations

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
-- A posting's BM25 term factor tf / (tf + k1 * (1 - b + b * dl / avgdl)), k1 = 1.2,
-- b = 0.75, at a fixed avgdl of 256: the order of a term's postings, best first.
CREATE FUNCTION ragstream_impact(tf integer, dl integer) RETURNS float8
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN tf::float8 / (tf + 0.3::float8 + 0.9::float8 * dl / 256::float8);

-- The largest term factor at the real `avgdl` of any posting whose impact is at most
-- `impact`. With u = 0.3 / tf (<= 0.3) and v = 0.9 * dl / (256 * tf), impact =
-- 1 / (1 + u + v) and the factor is 1 / (1 + u + rho * v), rho = 256 / avgdl: minimise
-- u + rho * v subject to u + v >= 1 / impact - 1.
CREATE FUNCTION ragstream_impact_bound(impact float8, avgdl float8) RETURNS float8
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN 1 / (1 + CASE
        WHEN 256 / avgdl < 1 THEN 256 / avgdl * (1 / impact - 1)
        ELSE least(1 / impact - 1, 0.3::float8)
             + 256 / avgdl * greatest(1 / impact - 1 - 0.3::float8, 0) END);

CREATE TABLE postings (
    term text NOT NULL,
    chunk_id text NOT NULL,
    tf integer NOT NULL,
    dl integer NOT NULL,
    impact float8 GENERATED ALWAYS AS (ragstream_impact(tf, dl)) STORED,
    PRIMARY KEY (chunk_id, term) INCLUDE (tf, dl));
CREATE INDEX postings_by_impact ON postings (term, impact DESC) INCLUDE (chunk_id, tf, dl);

CREATE TABLE term_stats (term text PRIMARY KEY, df integer NOT NULL);

INSERT INTO postings (term, chunk_id, tf, dl)
    SELECT u.lexeme, c.id, coalesce(array_length(u.positions, 1), 1), c.dl
    FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) u;
INSERT INTO term_stats SELECT term, count(*) FROM postings GROUP BY term;
""",
    ),
)

LATEST = MIGRATIONS[-1][0]
