"""Options every workspace command shares, and the one way they become a Workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from ragstream.access import Identity
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
        help='Embedding model: "auto" (default: by the first documents\' language), "builtin", '
        '"multilingual", a model directory, a Hugging Face id, or "openai:<model>" '
        "[env RAGSTREAM_EMBEDDER].",
    )(func)
    return workspace_option(func)


def open_workspace(options: dict[str, Any], **more: Any) -> Workspace:
    """Pop the shared options from `options` and open the workspace they name."""
    overrides = {name: options.pop(name, None) for name in WORKSPACE_OPTIONS}
    return Workspace(load_settings({**overrides, **more}))


def access_options(*, many_collections: bool) -> Callable[[F], F]:
    """--collection (several for search/ask/docs, one for ingest) and --as USER."""

    def decorate(func: F) -> F:
        func = click.option(
            "--as-group",
            "as_groups",
            multiple=True,
            metavar="GROUP",
            help="With --as: a group of that user (as an OIDC groups claim would give).",
        )(func)
        func = click.option(
            "--as",
            "as_user",
            default=None,
            metavar="USER",
            help="Act as USER (a local or OIDC user): see only what they may.",
        )(func)
        if many_collections:
            return click.option(
                "--collection",
                "-c",
                "collections",
                multiple=True,
                help="Only this collection (repeat for several) [default: every one allowed].",
            )(func)
        return click.option(
            "--collection",
            "-c",
            default="default",
            show_default=True,
            help="The collection the documents go into.",
        )(func)

    return decorate


def acting_as(workspace: Workspace, options: dict[str, Any]) -> Identity | None:
    """Pop --as/--as-group: the identity to act as (None: the local admin)."""
    name, groups = options.pop("as_user", None), options.pop("as_groups", ())
    return workspace.accounts.identity(name, groups) if name else None


def asked_collections(options: dict[str, Any]) -> list[str] | None:
    """Pop --collection (repeatable): None when not given."""
    return list(options.pop("collections", ())) or None
