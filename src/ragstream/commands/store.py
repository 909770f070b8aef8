"""`ragstream migrate` and `ragstream copy`: schema upgrades and moving an index between stores.

A copy moves the manifest, the index metadata and every chunk with its stored vector,
document by document (one transaction each in the destination), so nothing is
re-embedded and an interrupted copy is finished by running it again: documents already
in the destination with the same content hash are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from ragstream.commands.options import warn_password_in_argv
from ragstream.config import load_settings, read_secret_file
from ragstream.errors import ConfigError, StoreError
from ragstream.index.store import Store, open_store
from ragstream.models import DocumentRecord

EMBEDDER_KEYS = ("embedder", "dim")


@dataclass
class CopyReport:
    documents: int = 0
    chunks: int = 0
    skipped: int = 0


def is_database_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_target(target: str) -> Store:
    """A PostgreSQL URL opens the scale-out store; anything else is a workspace directory."""
    if is_database_url(target):
        from ragstream.index.postgres import PostgresStore

        return PostgresStore(target)
    from ragstream.index.sqlite import SqliteStore

    directory = Path(target)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"--to {target}: not a directory (give a workspace directory or URL)")
    directory.mkdir(parents=True, exist_ok=True)
    return SqliteStore(directory / "index.sqlite")


def chunk_ids_of(store: Store, path: str) -> list[str]:
    """The ids of one document's chunks, in order (the Store protocol has no such call)."""
    method = getattr(store, "chunk_ids", None)
    if method is not None:
        return list(method(path))
    from ragstream.index.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        rows = store._read("SELECT id FROM chunks WHERE path = ? ORDER BY ordinal, rowid", (path,))
        return [row[0] for row in rows]
    raise StoreError(f"{type(store).__name__} cannot list a document's chunks")


def copy_store(
    source: Store,
    destination: Store,
    progress: Callable[[DocumentRecord], None] | None = None,
) -> CopyReport:
    """Copy meta, manifest, chunks and vectors from `source` into `destination`."""
    meta = source.get_meta()
    existing = destination.get_meta()
    for key in EMBEDDER_KEYS:
        if existing.get(key) and existing.get(key) != meta.get(key):
            raise StoreError(
                f"the destination was built with {existing.get('embedder')} "
                f"({existing.get('dim')}-d), the source with {meta.get('embedder')} "
                f"({meta.get('dim')}-d): copy into an empty database or workspace"
            )
    if meta:
        destination.set_meta(meta)
    done = {(d.path, d.sha256, d.n_chunks) for d in destination.documents()}
    bulk = getattr(destination, "deferred_vector_index", nullcontext)
    with bulk():
        return _copy_documents(source, destination, meta, done, progress)


def _copy_documents(
    source: Store,
    destination: Store,
    meta: dict[str, str],
    done: set[tuple[str, str, int]],
    progress: Callable[[DocumentRecord], None] | None,
) -> CopyReport:
    report = CopyReport()
    for record in source.documents():
        if (record.path, record.sha256, record.n_chunks) in done:
            report.skipped += 1
            continue
        ids = chunk_ids_of(source, record.path)
        chunks = source.chunks(ids)
        stored = source.vectors_for(ids)
        if len(chunks) != len(ids) or len(stored) != len(ids):
            raise StoreError(f"{record.path}: the source changed during the copy; run it again")
        dim = int(meta.get("dim", 0)) or (len(next(iter(stored.values()))) if stored else 0)
        vectors = (
            np.stack([stored[c.id] for c in chunks]) if chunks else np.zeros((0, dim), np.float32)
        )
        destination.replace_document(record, chunks, vectors)
        report.documents += 1
        report.chunks += len(chunks)
        if progress:
            progress(record)
    return report


@click.command()
@click.option(
    "--database-url",
    default=None,
    callback=warn_password_in_argv,
    help="PostgreSQL URL [env RAGSTREAM_DATABASE_URL or RAGSTREAM_DATABASE_URL_FILE]. "
    "Prefer the environment or a file: a password on the command line shows in `ps`.",
)
def migrate(database_url: str | None) -> None:
    """Bring the PostgreSQL database to the current schema (enables pgvector if allowed)."""
    from ragstream.index.postgres import LATEST, PostgresStore

    settings = load_settings({"database_url": database_url})
    if not settings.database_url:
        raise ConfigError(
            "migrate needs a database: set RAGSTREAM_DATABASE_URL (or _FILE) or --database-url"
        )
    store = PostgresStore(settings.database_url)
    try:
        if store.applied:
            numbers = ", ".join(str(v) for v in store.applied)
            click.echo(f"{store.where}: applied migration(s) {numbers}; schema at {LATEST}")
        else:
            click.echo(f"{store.where}: schema already at version {LATEST}")
    finally:
        store.close()


@click.command()
@click.option(
    "--to",
    "target",
    default=None,
    callback=warn_password_in_argv,
    help="Destination: a PostgreSQL URL (postgresql://...) or a workspace directory.",
)
@click.option(
    "--to-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Read the destination URL from this file (keeps a password out of argv).",
)
@click.option(
    "--workspace",
    "-w",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Source workspace directory [env RAGSTREAM_WORKSPACE; default .ragstream].",
)
@click.option(
    "--database-url",
    default=None,
    callback=warn_password_in_argv,
    help="Source PostgreSQL URL instead of a workspace "
    "[env RAGSTREAM_DATABASE_URL or RAGSTREAM_DATABASE_URL_FILE].",
)
def copy(target: str | None, to_file: Path | None, **options: Any) -> None:
    """Copy an index (manifest, chunks, vectors) to another store without re-embedding.

    \b
    workspace -> PostgreSQL:  ragstream copy --to-file FILE_WITH_URL
    PostgreSQL -> workspace:  RAGSTREAM_DATABASE_URL_FILE=F ragstream copy --to DIR
    """
    if (target is None) == (to_file is None):
        raise ConfigError("copy needs exactly one of --to URL_OR_DIRECTORY and --to-file FILE")
    if to_file is not None:
        target = read_secret_file("--to-file", str(to_file))
    assert target is not None
    settings = load_settings(options)
    if settings.database_url == target or (
        not settings.database_url and Path(target).resolve() == settings.workspace.resolve()
    ):
        raise ConfigError("copy: the source and the destination are the same store")
    if not settings.database_url and not (settings.workspace / "index.sqlite").is_file():
        raise ConfigError(f"{settings.workspace}: no index to copy here (ingest first?)")
    source = open_store(settings)
    try:
        destination = open_target(target)
    except BaseException:
        source.close()
        raise
    where = getattr(destination, "where", target)
    try:
        report = copy_store(source, destination)
    finally:
        destination.close()
        source.close()
    click.echo(
        f"copied {report.documents} document(s), {report.chunks} chunk(s) to {where}"
        + (f"; {report.skipped} already there" if report.skipped else "")
    )
