"""`ragstream collection`, `user` and `audit`: manage who may see what (as the local admin).

The CLI is trusted (it can open the index file or database directly), so it acts as the
admin; `--as USER` on search, ask, docs and ingest shows what that user would get.
Passwords are read from a hidden prompt or stdin, never from argv.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ragstream.access import ROLE_RANK
from ragstream.commands.options import open_workspace, workspace_options


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- collections ----------------------------------------------------------------------------
@click.group()
def collection() -> None:
    """Collections: every document belongs to one; members see only theirs."""


@collection.command("list")
@click.option("--json", "as_json", is_flag=True)
@workspace_options
def list_collections(as_json: bool, **options: Any) -> None:
    """List collections with their documents, chunks and members."""
    with open_workspace(options) as workspace:
        found = workspace.accounts.collections()
        members = workspace.accounts.members()
    if as_json:
        rows = [
            {
                **asdict(c),
                "members": {m.principal: m.role for m in members if m.collection == c.name},
            }
            for c in found
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("collection", "documents", "chunks", "members")
    for c in found:
        who = ", ".join(f"{m.principal} ({m.role})" for m in members if m.collection == c.name)
        table.add_row(c.name, str(c.documents), str(c.chunks), who or "-")
    Console().print(table)


@collection.command("create")
@click.argument("name")
@workspace_options
def create_collection(name: str, **options: Any) -> None:
    """Create collection NAME (then: ragstream ingest --collection NAME DIR)."""
    with open_workspace(options) as workspace:
        workspace.accounts.create_collection(name)
    click.echo(f"created collection {name}")


@collection.command("rename")
@click.argument("old")
@click.argument("new")
@workspace_options
def rename_collection(old: str, new: str, **options: Any) -> None:
    """Rename collection OLD to NEW (documents, chunks and members follow)."""
    with open_workspace(options) as workspace:
        workspace.accounts.rename_collection(old, new)
    click.echo(f"renamed collection {old} to {new}")


@collection.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@workspace_options
def delete_collection(name: str, yes: bool, **options: Any) -> None:
    """Delete collection NAME with its documents, chunks and vectors."""
    if not yes:
        click.confirm(f"delete collection {name} and every document in it?", abort=True)
    with open_workspace(options) as workspace:
        removed = workspace.accounts.delete_collection(name)
    click.echo(f"deleted collection {name} ({removed} documents removed)")


@collection.command("grant")
@click.argument("name")
@click.argument("member")
@click.argument("role", type=click.Choice(list(ROLE_RANK)))
@workspace_options
def grant(name: str, member: str, role: str, **options: Any) -> None:
    """Give MEMBER (a user, or group:NAME from the OIDC groups claim) ROLE on NAME."""
    with open_workspace(options) as workspace:
        workspace.accounts.grant(name, member, role)
    click.echo(f"{member} is now {role} of {name}")


@collection.command("revoke")
@click.argument("name")
@click.argument("member")
@workspace_options
def revoke(name: str, member: str, **options: Any) -> None:
    """Take MEMBER's role on collection NAME away."""
    with open_workspace(options) as workspace:
        if not workspace.accounts.revoke(name, member):
            raise click.ClickException(f"{member} is not a member of {name}")
    click.echo(f"{member} is no longer a member of {name}")


# --- users ----------------------------------------------------------------------------------
@click.group()
def user() -> None:
    """Local accounts (without OIDC): name + password (scrypt-hashed in the store)."""


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="A global admin: every collection, users, audit.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@workspace_options
def add_user(name: str, admin: bool, password_stdin: bool, **options: Any) -> None:
    """Add local user NAME; the password is asked for (never an argument)."""
    password = _new_password(password_stdin)
    with open_workspace(options) as workspace:
        workspace.accounts.add_user(name, password, admin=admin)
    click.echo(f"added user {name}" + (" (admin)" if admin else ""))


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@workspace_options
def passwd(name: str, password_stdin: bool, **options: Any) -> None:
    """Set a new password for user NAME."""
    password = _new_password(password_stdin)
    with open_workspace(options) as workspace:
        workspace.accounts.set_password(name, password)
    click.echo(f"password of {name} changed")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@workspace_options
def list_users(as_json: bool, **options: Any) -> None:
    """List local users."""
    with open_workspace(options) as workspace:
        users = workspace.accounts.users()
    if as_json:
        click.echo(json.dumps([asdict(u) for u in users], indent=2))
        return
    table = Table("user", "admin", "created")
    for u in users:
        table.add_row(u.name, "yes" if u.admin else "", _when(u.created_at))
    Console().print(table)


@user.command("remove")
@click.argument("name")
@workspace_options
def remove_user(name: str, **options: Any) -> None:
    """Remove user NAME and their memberships."""
    with open_workspace(options) as workspace:
        if not workspace.accounts.remove_user(name):
            raise click.ClickException(f"no user {name} (see: ragstream user list)")
    click.echo(f"removed user {name}")


# --- audit ----------------------------------------------------------------------------------
@click.command()
@click.option("-n", "--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@workspace_options
def audit(limit: int, as_json: bool, **options: Any) -> None:
    """Who uploaded and removed what, and who was granted what (newest last)."""
    with open_workspace(options) as workspace:
        entries = workspace.accounts.audit_log(limit)
    if as_json:
        click.echo(json.dumps([asdict(e) for e in entries], indent=2))
        return
    table = Table("when", "who", "did", "what", "detail")
    for e in entries:
        table.add_row(_when(e.at), e.actor, e.action, e.target, e.detail)
    Console().print(table)
