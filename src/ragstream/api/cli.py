"""`ragstream api`, `ragstream mcp` and `ragstream token`: thin doors onto api/."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from ragstream.commands.options import workspace_options
from ragstream.config import Settings, load_settings
from ragstream.workspace import Workspace


def _settings(options: dict[str, Any]) -> Settings:
    overrides = {k: options.get(k) for k in ("workspace", "embedder", "database_url")}
    overrides["model"] = options.get("model")
    overrides["openai_base_url"] = options.get("base_url")
    return load_settings(overrides)


def _tokens(settings: Settings) -> Any:
    from ragstream.api.tokens import open_tokens

    return open_tokens(settings)


def llm_options(func: Any) -> Any:
    func = click.option(
        "--base-url", default=None, help="OpenAI-compatible LLM server [env OPENAI_BASE_URL]."
    )(func)
    return click.option("--model", default=None, help="Chat model [env RAGSTREAM_MODEL].")(func)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@llm_options
@workspace_options
def api(host: str, port: int, **options: Any) -> None:
    """Serve the HTTP API: REST /api/v1, OpenAI-compatible /v1, MCP at /mcp.

    Requests need `Authorization: Bearer <token>` (see `ragstream token create`); with
    no tokens the API serves only on a loopback address.
    """
    import uvicorn

    from ragstream.api.app import create_app
    from ragstream.api.auth import check_bind
    from ragstream.auth.network import is_loopback

    settings = _settings(options)
    tokens = _tokens(settings)
    check_bind(host, tokens)
    # A page password means this server is guarded: the API then needs tokens too.
    allow_open = is_loopback(host) and not settings.password
    app = create_app(lambda: Workspace(settings), tokens, allow_open=allow_open)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"RAGstream API on http://{shown}:{port} (schema: /api/v1/openapi.json)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@click.command()
@llm_options
@workspace_options
def mcp(**options: Any) -> None:
    """Serve the MCP tools over stdio (for desktop agents: configure `ragstream mcp`)."""
    from ragstream.api.mcp_server import build_mcp
    from ragstream.api.service import Service

    service = Service(Workspace(_settings(options)))
    try:
        build_mcp(lambda: service).run("stdio")
    finally:
        service.close()


@click.group()
def token() -> None:
    """API tokens: create (shown once), list, revoke. Stored hashed in the workspace."""


@token.command("create")
@click.argument("name")
@click.option("--read-only", is_flag=True, help="May search and ask, not upload or delete.")
@click.option("--user", default=None, help="The user the token acts as (default: an admin token).")
@click.option(
    "--collection",
    "collections",
    multiple=True,
    help="Limit the token to this collection (repeatable; default: all the user may read).",
)
@workspace_options
def create(
    name: str, read_only: bool, user: str | None, collections: tuple[str, ...], **options: Any
) -> None:
    """Create a token named NAME and print it once (it cannot be shown again)."""
    store = _tokens(_settings(options))
    scope = "read" if read_only else "write"
    secret, record = store.create(name, scope, user=user, collections=collections or None)
    click.echo(
        f"created token {record.id} ({record.name}, {record.scope}, {_who(record)}); copy it now:",
        err=True,
    )
    click.echo(secret)


@token.command("list")
@workspace_options
def list_tokens(**options: Any) -> None:
    """Tokens by id, name, scope, dates (never the secret)."""
    for r in _tokens(_settings(options)).records():
        state = "revoked " + _when(r.revoked_at) if r.revoked_at else "active"
        used = _when(r.last_used_at) if r.last_used_at else "never"
        click.echo(
            f"{r.id}  {r.name:<20} {r.scope:<5}  {_who(r)}  created {_when(r.created_at)}  "
            f"last used {used}  {state}"
        )


@token.command("revoke")
@click.argument("id_or_name")
@workspace_options
def revoke(id_or_name: str, **options: Any) -> None:
    """Revoke the token with this id (or every active token with this name)."""
    revoked = _tokens(_settings(options)).revoke(id_or_name)
    if not revoked:
        raise click.ClickException(f"no active token {id_or_name!r} (see `ragstream token list`)")
    for r in revoked:
        click.echo(f"revoked {r.id} ({r.name})")


def _who(record: Any) -> str:
    who = f"user {record.user}" if record.user else "admin"
    return who if record.collections is None else f"{who} in {','.join(record.collections)}"


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts or 0).strftime("%Y-%m-%d %H:%M")
