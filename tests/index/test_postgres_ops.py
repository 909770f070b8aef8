"""PostgreSQL store in operation: migrations, the missing-extension error, password masking,
two processes ingesting at once, and `ragstream copy` giving the same search results."""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.errors import StoreError
from ragstream.index.copy import copy_store
from ragstream.index.pg_migrations import LATEST, VERSIONS
from ragstream.index.postgres import PostgresStore, glob_to_regex
from ragstream.index.sqlite import SqliteStore
from ragstream.models import Hit
from ragstream.workspace import Workspace
from tests.index.store_contract import (
    CORPUS,
    GLOBS,
    PATHS,
    assert_frequencies_match_postings,
    make_doc,
)
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).parents[2]
FAQ = ROOT / "bench" / "data" / "faq-en" / "corpus.jsonl"


def faq_files(directory: Path, count: int, start: int = 0) -> list[Path]:
    """Real text: FAQ answers, one per file."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = FAQ.read_text(encoding="utf-8").splitlines()[start : start + count]
    files = []
    for n, line in enumerate(lines, start):
        files.append(directory / f"answer-{n:03d}.txt")
        files[-1].write_text(json.loads(line)["text"], encoding="utf-8")
    return files


# --- migrations -----------------------------------------------------------------------------
def test_migrate_command_applies_once_and_open_needs_nothing_more(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", postgres_url)
    first = CliRunner().invoke(cli, ["migrate"])
    assert first.exit_code == 0, first.output
    applied = ", ".join(str(n) for n in sorted(VERSIONS))
    assert f"applied migration(s) {applied}; schema at {LATEST}" in first.output
    assert ":***@" in first.output and "fixture-Pa55word" not in first.output
    again = CliRunner().invoke(cli, ["migrate"])
    assert "schema already at version" in again.output
    store = PostgresStore(postgres_url)
    assert (store.schema_version(), store.applied) == (LATEST, [])
    store.close()


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations(version) VALUES (%s)", (LATEST + 1,))
    with pytest.raises(StoreError, match="newer than this RAGstream knows"):
        PostgresStore(postgres_url)


# --- the vector extension ----------------------------------------------------------------------
def test_missing_vector_extension_says_how_to_enable_it(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    """A plain role (as an app user on RDS) cannot create the extension: say who can."""
    postgres_server.admin(
        "DO $$ BEGIN CREATE ROLE rag_app LOGIN PASSWORD 'app-Secret-42'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    postgres_server.admin(f"GRANT CONNECT, CREATE ON DATABASE {postgres_database} TO rag_app")
    postgres_server.admin("GRANT ALL ON SCHEMA public TO rag_app", postgres_database)
    url = postgres_server.url(postgres_database, "rag_app", "app-Secret-42")
    with pytest.raises(StoreError) as info:
        PostgresStore(url)
    message = str(info.value)
    assert "CREATE EXTENSION vector" in message and "RDS" in message, message
    assert "ragstream migrate" in message and "\n" not in message
    assert "app-Secret-42" not in message and "rag_app:***@" in message
    postgres_server.admin("CREATE EXTENSION vector", postgres_database)  # as the hint says
    store = PostgresStore(url)  # now the app user can create the tables
    assert store.schema_version() == LATEST
    store.close()


# --- secrets --------------------------------------------------------------------------------
def test_password_never_shows_in_errors_repr_or_logs(
    postgres_server: PostgresServer,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = postgres_server.url("postgres", password="Wr0ng-Secret-pw")
    with pytest.raises(StoreError) as info:
        PostgresStore(wrong)
    assert "Wr0ng-Secret-pw" not in str(info.value) and "postgres:***@" in str(info.value)
    assert "password authentication failed" in str(info.value)
    store = PostgresStore(postgres_url)
    assert "fixture-Pa55word" not in repr(store) and ":***@" in repr(store)
    store._conn.close()  # the server connection drops: the store reconnects...
    assert store.documents() == []
    store._conn.close()  # ...and when reconnecting fails, the error stays masked too
    monkeypatch.setattr(store, "_url", wrong)
    with pytest.raises(StoreError) as dropped:
        store.documents()
    assert "fixture-Pa55word" not in str(dropped.value) and ":***@" in str(dropped.value)
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", wrong)
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code != 0 and "Wr0ng-Secret-pw" not in result.output + str(result.exception)
    monkeypatch.delenv("RAGSTREAM_DATABASE_URL")
    result = CliRunner().invoke(cli, ["migrate", "--database-url", wrong])  # argv: warned
    assert "--database-url holds a password" in result.stderr
    assert result.exit_code != 0 and "Wr0ng-Secret-pw" not in result.output + str(result.exception)
    assert "fixture-Pa55word" not in caplog.text and "Wr0ng-Secret-pw" not in caplog.text


def test_glob_regexes_behave_the_same_inside_postgresql(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        for glob in GLOBS:
            got = conn.execute(
                "SELECT p FROM unnest(%s::text[]) p WHERE p ~ %s", (PATHS, glob_to_regex(glob))
            ).fetchall()
            assert {row[0] for row in got} == {p for p in PATHS if fnmatch.fnmatchcase(p, glob)}


# --- concurrency -----------------------------------------------------------------------------
INGESTER = """
import json, os, sys, time
from pathlib import Path
from ragstream.workspace import Workspace

go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
ws = Workspace.open(workspace=Path(sys.argv[3]), database_url=os.environ["TEST_DB_URL"])
report = ws.ingest([Path(sys.argv[1])])
print(json.dumps({"failed": [f.path + ": " + str(f.reason) for f in report.failed]}))
ws.close()
"""


def run_two_ingests(url: str, tmp_path: Path, folders: tuple[Path, Path]) -> list[dict]:
    go = tmp_path / "go"
    env = {**os.environ, "TEST_DB_URL": url, "PYTHONPATH": str(ROOT)}
    env.pop("RAGSTREAM_DATABASE_URL", None)
    Workspace.open(workspace=tmp_path / "ws", database_url=url).close()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(INGESTER),
                str(folder),
                str(go),
                str(tmp_path / "ws"),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in folders
    ]
    time.sleep(3)  # both have imported and are waiting
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_processes_ingesting_the_same_files_do_not_duplicate(
    postgres_url: str, tmp_path: Path
) -> None:
    files = faq_files(tmp_path / "docs", 6)
    (tmp_path / "docs" / "other").mkdir()
    results = run_two_ingests(postgres_url, tmp_path, (tmp_path / "docs", tmp_path / "docs"))
    assert results == [{"failed": []}, {"failed": []}]
    store = PostgresStore(postgres_url)
    documents = store.documents()
    assert len(documents) == len(files)
    assert store.count_chunks() == sum(d.n_chunks for d in documents)
    rows = store._read("SELECT path, count(*), count(DISTINCT ordinal) FROM chunks GROUP BY 1")
    assert all(total == distinct for _, total, distinct in rows), rows
    stats = store._read("SELECT n_chunks FROM corpus_stats")[0][0]
    assert stats == store.count_chunks()  # BM25's totals stayed in step under concurrency
    assert_frequencies_match_postings(store)
    assert not (tmp_path / "ws").exists(), "with a database URL the workspace holds no index"
    store.close()


def test_two_processes_ingesting_different_files_keep_all(
    postgres_url: str, tmp_path: Path
) -> None:
    left = faq_files(tmp_path / "left", 5, start=0)
    right = faq_files(tmp_path / "right", 5, start=5)
    results = run_two_ingests(postgres_url, tmp_path, (tmp_path / "left", tmp_path / "right"))
    assert results == [{"failed": []}, {"failed": []}]
    store = PostgresStore(postgres_url)
    paths = {d.path for d in store.documents()}
    assert len(paths) == len(left) + len(right)
    assert {Path(p).name for p in paths} == {f.name for f in left + right}
    assert store._read("SELECT n_chunks FROM corpus_stats")[0][0] == store.count_chunks()
    assert_frequencies_match_postings(store)  # both wrote common terms' counts at once
    store.close()


# --- copy ------------------------------------------------------------------------------------
QUERIES = [
    "How long does a building permit take?",
    "Who pays for the scaffolding?",
    "What insulation should I use for the roof?",
    "Can I change the windows myself",
    "waterproofing the basement walls",
    "cost of concrete",
]


def test_copy_to_postgres_gives_identical_search_results(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faq_files(tmp_path / "docs", 40)
    sqlite_ws = Workspace.open(workspace=tmp_path / "ws")
    assert not sqlite_ws.ingest([tmp_path / "docs"]).failed
    sqlite_ws.close()
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", "")
    result = CliRunner().invoke(
        cli, ["copy", "--workspace", str(tmp_path / "ws"), "--to-file", str(_url_file(tmp_path, postgres_url))]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "copied 40 document(s)" in result.output and "fixture-Pa55word" not in result.output

    sqlite_ws = Workspace.open(workspace=tmp_path / "ws")
    pg_ws = Workspace.open(workspace=tmp_path / "unused", database_url=postgres_url)
    assert pg_ws.documents() == sqlite_ws.documents()
    assert pg_ws.store.get_meta() == sqlite_ws.store.get_meta()
    index = pg_ws.store._read("SELECT to_regclass('chunks_embedding_hnsw')")  # type: ignore[attr-defined]
    assert index[0][0] is not None, "the bulk load rebuilt the HNSW index"
    analysed = "SELECT count(*) FROM pg_stats WHERE tablename = 'postings'"
    assert pg_ws.store._read(analysed)[0][0] > 0, "and analysed the tables"  # type: ignore[attr-defined]
    for query in QUERIES:
        for mode in ("bm25", "dense", "hybrid"):
            want = sqlite_ws.search(query, k=8, mode=mode)
            got = pg_ws.search(query, k=8, mode=mode)
            assert_same_ranking(got, want, (query, mode))
    # the vectors were copied, not recomputed: identical to the last float32 bit
    ids = [h.chunk.id for h in sqlite_ws.search(QUERIES[0], k=5, mode="dense")]
    for cid, vector in sqlite_ws.store.vectors_for(ids).items():
        assert pg_ws.store.vectors_for([cid])[cid].tobytes() == vector.tobytes()
    # and so were ColBERT's passage vectors (the default reranker's), byte for byte
    tokens = sqlite_ws.store.token_vectors_for(ids)
    assert len(tokens) == len(ids) and pg_ws.store.token_vectors_for(ids) == tokens
    sqlite_ws.close()
    pg_ws.close()
    assert not (tmp_path / "unused").exists()


def assert_same_ranking(got: list[Hit], want: list[Hit], context: object) -> None:
    """Same scores in the same order and the same chunks; chunks with exactly equal scores
    may come in either order (SQLite breaks ties by insertion order), and a tie cut by k
    may keep different members of the tied group."""
    assert len(got) == len(want), context
    for g, w in zip(got, want, strict=True):
        assert g.score == pytest.approx(w.score, rel=1e-4, abs=1e-6), context
    groups: dict[float, tuple[set[str], set[str]]] = {}
    for g, w in zip(got, want, strict=True):
        key = round(w.score, 5)
        groups.setdefault(key, (set(), set()))
        groups[key][0].add(g.chunk.id)
        groups[key][1].add(w.chunk.id)
    last = round(want[-1].score, 5) if want else None
    for key, (got_ids, want_ids) in groups.items():
        if key != last or len(want) < 8:
            assert got_ids == want_ids, (context, key)
    assert {h.chunk for h in got} - {h.chunk for h in want} <= {
        h.chunk for h in got if round(h.score, 5) == last
    }, context


def _url_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "db-url"
    path.write_text(url + "\n")
    return path


def test_copy_back_to_a_workspace_and_rerun_skips_what_is_there(
    postgres_url: str, tmp_path: Path
) -> None:
    source = PostgresStore(postgres_url)
    source.set_meta({"embedder": "test", "dim": "8"})
    for seed, (path, texts) in enumerate(CORPUS.items()):
        source.replace_document(*make_doc(path, texts, seed))
    destination = SqliteStore(tmp_path / "index.sqlite")
    report = copy_store(source, destination)
    assert (report.documents, report.chunks, report.skipped) == (4, 7, 0)
    assert destination.documents() == source.documents()
    assert destination.keyword_search("pasta", 3)[0][0] == source.keyword_search("pasta", 3)[0][0]
    again = copy_store(source, destination)
    assert (again.documents, again.skipped) == (0, 4)
    other = PostgresStore(postgres_url)
    other.set_meta({"embedder": "another", "dim": "8"})
    with pytest.raises(StoreError, match="copy into an empty database"):
        copy_store(other, destination)
    for store in (source, destination, other):
        store.close()


def test_copy_command_copies_back_and_refuses_a_store_onto_itself(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = PostgresStore(postgres_url)
    source.set_meta({"embedder": "test", "dim": "8"})
    for seed, (path, texts) in enumerate(CORPUS.items()):
        source.replace_document(*make_doc(path, texts, seed))
    source.close()
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", postgres_url)
    same = CliRunner().invoke(cli, ["copy", "--to-file", str(_url_file(tmp_path, postgres_url))])
    assert same.exit_code != 0 and "the same store" in str(same.exception)
    back = CliRunner().invoke(cli, ["copy", "--to", str(tmp_path / "back")])
    assert back.exit_code == 0, back.output
    assert "copied 4 document(s), 7 chunk(s) to " in back.output
    copied = SqliteStore(tmp_path / "back" / "index.sqlite")
    assert copied.count_chunks() == 7 and copied.get_meta()["embedder"] == "test"
    copied.close()
