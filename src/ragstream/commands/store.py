"""`ragstream migrate` and `ragstream copy`: schema upgrades and moving an index between
stores (the copy itself is `ragstream.index.copy`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ragstream.commands.options import warn_password_in_argv, workspace_option
from ragstream.config import load_settings, read_secret_file
from ragstream.errors import ConfigError
from ragstream.index.copy import copy_store
from ragstream.index.factory import INDEX_FILE, open_store, store_location


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
@workspace_option
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
    if not settings.database_url and not (settings.workspace / INDEX_FILE).is_file():
        raise ConfigError(f"{settings.workspace}: no index to copy here (ingest first?)")
    source = open_store(store_location(settings))
    try:
        destination = open_store(target)
    except BaseException:
        source.close()
        raise
    where = destination.where
    try:
        report = copy_store(source, destination)
    finally:
        destination.close()
        source.close()
    click.echo(
        f"copied {report.documents} document(s), {report.chunks} chunk(s) to {where}"
        + (f"; {report.skipped} already there" if report.skipped else "")
    )
