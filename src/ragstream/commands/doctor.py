"""`ragstream doctor`: check the index, explain what is wrong, and (--rebuild) recover.

SQLite checks run read-only (ragstream.index.sqlite_health): the file, the schema
version, a full integrity check, chunk/manifest/keyword-index counts, write access and
free space. `--rebuild` moves the index aside (nothing is deleted) and re-ingests the
manifest's source files with the embedder that built it. PostgreSQL gets the checks
that make sense there (connect, schema, counts); it rebuilds with `ragstream copy`.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ragstream.commands.options import WORKSPACE_OPTIONS, workspace_options
from ragstream.config import Settings, load_settings
from ragstream.errors import ConfigError, RagstreamError
from ragstream.index import sqlite_health as health
from ragstream.index.factory import INDEX_FILE, open_store, store_location
from ragstream.index.sqlite_health import Finding
from ragstream.redact import redact
from ragstream.workspace import DEFAULT_EMBEDDER, Workspace


@click.command()
@click.option(
    "--rebuild",
    is_flag=True,
    help="Move the SQLite index aside (kept as index.sqlite.damaged-<time>) and re-ingest "
    "the documents its manifest lists from their source files.",
)
@workspace_options
def doctor(rebuild: bool, **options: Any) -> None:
    """Check the index and say what is wrong and what to do; exit 1 if something is."""
    settings = load_settings({name: options.pop(name, None) for name in WORKSPACE_OPTIONS})
    if settings.database_url:
        if rebuild:
            raise ConfigError(
                "--rebuild rebuilds a workspace's SQLite index; a PostgreSQL index is rebuilt "
                "by ingesting again or with 'ragstream copy' from a workspace"
            )
        findings = _postgres_findings(settings)
    else:
        findings = health.diagnose(settings.workspace / INDEX_FILE)
    for finding in findings:
        click.echo(redact(f"{'ok  ' if finding.ok else 'FAIL'}  {finding.text}"))
    if rebuild:
        _rebuild(settings)
    elif not all(f.ok for f in findings):
        sys.exit(1)


def _postgres_findings(settings: Settings) -> list[Finding]:
    try:
        store = open_store(store_location(settings))
    except RagstreamError as exc:
        return [Finding(False, str(exc))]
    try:
        where = store.where
        chunks = store.count_chunks()
        listed = sum(d.n_chunks for d in store.documents())
    except RagstreamError as exc:
        return [Finding(False, str(exc))]
    finally:
        store.close()
    counts = f"{chunks} chunks, {listed} listed in the manifest"
    return [Finding(True, f"{where}: connected, schema current"), Finding(chunks == listed, counts)]


def _rebuild(settings: Settings) -> None:
    db = settings.workspace / INDEX_FILE
    manifest = health.read_manifest(db) if db.exists() else None
    if db.exists():
        click.echo(f"moved the old index to {health.move_aside(db)}")
    if manifest is None:
        raise ConfigError(
            f"{db}: no readable manifest, so the source files are unknown: ingest your "
            "folders again with 'ragstream ingest DIR'"
        )
    keys, spec = manifest
    if spec and settings.embedder == DEFAULT_EMBEDDER:
        settings = settings.replace(embedder=spec)  # the embedder that built the old index
    with Workspace(settings) as workspace:
        sources = [workspace.source_path(key) for key in keys]
        present = [path for path in sources if path.is_file()]
        report = workspace.ingest(present, keep_missing=True) if present else None
    ingested = report.count("ingested") if report else 0
    click.echo(f"rebuilt {db}: {ingested} of {len(keys)} document(s) re-ingested")
    for path in sources:
        if path not in present:
            click.echo(f"missing   {path}: the source file is gone; not in the new index")
    failed = [r for r in report.files if r.status == "failed"] if report else []
    for result in failed:
        click.echo(f"failed    {result.path}: {result.reason}")
    if failed or len(present) < len(sources):
        sys.exit(1)
