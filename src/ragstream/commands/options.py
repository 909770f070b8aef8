"""Options every workspace command shares, and the one way they become a Workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ragstream.config import load_settings
from ragstream.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

WORKSPACE_OPTIONS = ("workspace", "embedder", "database_url")


def workspace_options(func: F) -> F:
    """Add --workspace, --embedder and --database-url (flag > env > file > default)."""
    func = click.option(
        "--database-url",
        default=None,
        help="PostgreSQL URL (scale-out store) instead of the embedded SQLite index "
        "[env RAGSTREAM_DATABASE_URL or RAGSTREAM_DATABASE_URL_FILE].",
    )(func)
    func = click.option(
        "--embedder",
        default=None,
        help='Embedding model: "builtin", a model directory, a Hugging Face id, or '
        '"openai:<model>" [env RAGSTREAM_EMBEDDER].',
    )(func)
    func = click.option(
        "--workspace",
        "-w",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Workspace directory (index + manifest) [env RAGSTREAM_WORKSPACE; default .ragstream].",
    )(func)
    return func


def open_workspace(options: dict[str, Any], **more: Any) -> Workspace:
    """Pop the shared options from `options` and open the workspace they name."""
    overrides = {name: options.pop(name, None) for name in WORKSPACE_OPTIONS}
    return Workspace(load_settings({**overrides, **more}))
