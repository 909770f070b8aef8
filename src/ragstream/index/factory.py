"""The one way to open a store: a PostgreSQL URL or a workspace directory."""

from __future__ import annotations

from pathlib import Path

from ragstream.config import Settings
from ragstream.errors import ConfigError
from ragstream.index.store import Store

INDEX_FILE = "index.sqlite"  # inside a workspace directory


def is_database_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def store_location(settings: Settings) -> str | Path:
    """The database URL when one is set, else the workspace directory."""
    return settings.database_url or settings.workspace


def open_store(location: str | Path) -> Store:
    """PostgreSQL for a database URL; otherwise the SQLite index in that workspace
    directory (created if needed)."""
    if is_database_url(location):
        from ragstream.index.postgres import PostgresStore

        return PostgresStore(str(location))
    from ragstream.index.sqlite import SqliteStore

    directory = Path(location)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory (give a workspace directory or a URL)")
    directory.mkdir(parents=True, exist_ok=True)
    return SqliteStore(directory / INDEX_FILE)
