"""Options every workspace command shares, and the one way they become a Workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from ragstream.config import load_settings
from ragstream.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

WORKSPACE_OPTIONS = ("workspace", "embedder", "database_url")


def warn_password_in_argv(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: a URL with a password on the command line is readable by every
    local user (`ps`, /proc); say so, and how to keep it out, but go on."""
    try:
        has_password = bool(value and urlsplit(str(value)).password)
    except ValueError:  # not a URL at all: the command reports that itself
        has_password = False
    if has_password:
        flag = param.opts[0] if param.opts else param.name
        safer = "--to-file FILE" if flag == "--to" else "RAGSTREAM_DATABASE_URL_FILE"
        click.echo(
            f"warning: {flag} holds a password, which other users of this machine can read "
            f"in the process list; pass the URL in {safer} instead",
            err=True,
        )
    return value


workspace_option = click.option(
    "--workspace",
    "-w",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Workspace directory (index + manifest) [env RAGSTREAM_WORKSPACE; default .ragstream].",
)


def non_blank(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Click callback: a question or query must have words in it."""
    if not value.strip():
        raise click.BadParameter("is empty: say what to look for", param=param)
    return value


def workspace_options(func: F) -> F:
    """Add --workspace, --embedder and --database-url (flag > env > file > default)."""
    func = click.option(
        "--database-url",
        default=None,
        callback=warn_password_in_argv,
        help="PostgreSQL URL (scale-out store) instead of the embedded SQLite index "
        "[env RAGSTREAM_DATABASE_URL or RAGSTREAM_DATABASE_URL_FILE].",
    )(func)
    func = click.option(
        "--embedder",
        default=None,
        help='Embedding model: "builtin", a model directory, a Hugging Face id, or '
        '"openai:<model>" [env RAGSTREAM_EMBEDDER].',
    )(func)
    return workspace_option(func)


def open_workspace(options: dict[str, Any], **more: Any) -> Workspace:
    """Pop the shared options from `options` and open the workspace they name."""
    overrides = {name: options.pop(name, None) for name in WORKSPACE_OPTIONS}
    return Workspace(load_settings({**overrides, **more}))
