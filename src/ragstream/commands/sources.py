"""`ragstream source add|list|sync|remove` and `ragstream watch`: parse, call
Workspace.sources, print."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from ragstream.commands.options import open_workspace, workspace_options
from ragstream.config import Settings
from ragstream.sources.spec import format_every, parse_every
from ragstream.sources.sync import SyncResult

if TYPE_CHECKING:
    from ragstream.sources.watch import Watcher


@click.group()
def source() -> None:
    """Sources kept in sync with the index: folders, web pages/sites, S3 prefixes."""


@source.command("add")
@click.argument("location")
@click.option("--name", default=None, help="Name to refer to it by [default: from LOCATION].")
@click.option("--every", default=None, help="Re-sync on a schedule, e.g. 15m, 2h, 1d.")
@click.option("--include", multiple=True, help='Only documents matching this glob ("*.md").')
@click.option("--exclude", multiple=True, help="Leave out documents matching this glob.")
@click.option(
    "--depth",
    type=click.IntRange(0, 10),
    default=0,
    help="Web: how many links deep to follow (0: the page only).",
)
@click.option(
    "--same-site/--any-site", default=True, help="Web: follow links on the same host only."
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Web: allow private and loopback addresses (intranets); refused by default.",
)
@click.option("--rate", type=click.FloatRange(min=0.01), default=1.0, help="Web: requests/s.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, help="Web: seconds.")
@click.option("--no-sync", is_flag=True, help="Only register it; do not sync now.")
@workspace_options
def add(
    location: str,
    name: str | None,
    every: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    no_sync: bool,
    **options: Any,
) -> None:
    """Add LOCATION (a folder, an http(s):// URL or s3://bucket/prefix) and sync it."""
    web = {k: options.pop(k) for k in ("depth", "same_site", "allow_private", "rate", "timeout")}
    with open_workspace(options) as workspace:
        spec = workspace.sources.add(
            location,
            name=name,
            every=parse_every(every),
            include=include,
            exclude=exclude,
            **web,
        )
        click.echo(f"added source {spec.name} ({spec.kind}: {spec.location})")
        if not no_sync:
            _print_results(workspace.sources.sync(spec.name))


@source.command("list")
@click.option("--json", "as_json", is_flag=True)
@workspace_options
def list_(as_json: bool, **options: Any) -> None:
    """Each source with its last sync, documents and failures."""
    with open_workspace(options) as workspace:
        infos = workspace.sources.infos()
    if as_json:
        rows = [
            {**i.spec.to_json(), "documents": i.documents, "last_sync": i.state.last_sync,
             "last_ok": i.state.last_ok, "last_error": i.state.last_error,
             "counts": i.state.counts, "failures": i.state.failures}
            for i in infos
        ]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    if not infos:
        click.echo("No sources yet. Add one: ragstream source add ./docs --every 15m")
        return
    table = Table("name", "kind", "location", "every", "last sync", "documents", "failures")
    for i in infos:
        when = "never"
        if i.state.last_sync:
            when = datetime.fromtimestamp(i.state.last_sync).strftime("%Y-%m-%d %H:%M")
            when += "" if i.state.last_ok else " (failed)"
        table.add_row(
            i.spec.name,
            i.spec.kind,
            i.spec.location,
            format_every(i.spec.every),
            when,
            str(i.documents),
            str(len(i.state.failures) + (0 if i.state.last_ok else 1)),
        )
    console = Console()
    console.print(table)
    for i in infos:
        lines = ([i.state.last_error] if not i.state.last_ok else []) + i.state.failures
        for line in lines:
            console.print(f"[red]{i.spec.name}[/red] {line}", highlight=False)


@source.command("sync")
@click.argument("name", required=False)
@workspace_options
def sync(name: str | None, **options: Any) -> None:
    """Sync source NAME (or every source) now. Exits 1 when something failed."""
    with open_workspace(options) as workspace:
        _print_results(workspace.sources.sync(name))


@source.command("remove")
@click.argument("name")
@workspace_options
def remove(name: str, **options: Any) -> None:
    """Forget source NAME; its documents leave the index."""
    with open_workspace(options) as workspace:
        removed = workspace.sources.remove(name)
    click.echo(f"removed source {name} and its {removed} documents")


def _print_results(results: list[SyncResult]) -> None:
    """One line per source, then its failures; exit 1 when any failed (a source skipped
    because another process is syncing it is not a failure: that sync does the work)."""
    console = Console()
    failed = False
    for result in results:
        bad = bool(result.error or result.report.failed)
        style = "red" if bad else "yellow" if result.busy else "green"
        console.print(f"[{style}]{result.summary()}[/{style}]", highlight=False)
        for f in result.report.failed:
            console.print(f"  [red]failed[/red] {f.path}: {f.reason}", highlight=False)
        failed = failed or bad
    if failed:
        sys.exit(1)


@click.command()
@click.option("--rescan", type=float, default=60.0, help="Seconds between full rescans.")
@click.option("--settle", type=float, default=1.0, help="Seconds a file must be left alone.")
@click.option("--once", is_flag=True, hidden=True)
@workspace_options
def watch(rescan: float, settle: float, once: bool, **options: Any) -> None:
    """Keep every source in sync: folders within seconds of a change, others --every."""
    from ragstream.sources.watch import Watcher

    with open_workspace(options) as workspace:
        sources = workspace.sources
        sources.syncer.settle = settle

        def report(result: SyncResult) -> None:
            stamp = time.strftime("%H:%M:%S")
            click.echo(f"{stamp} {result.summary()}", err=not result.ok)
            for f in result.report.failed:
                click.echo(f"{stamp}   failed {f.path}: {f.reason}", err=True)

        watcher = Watcher(sources, rescan=rescan, on_result=report)
        click.echo(f"watching {len(sources.infos())} sources (Ctrl-C to stop)", err=True)
        watcher.run(stop_after_first=once)


def start_background_watch(settings: Settings) -> Watcher | None:
    """For `serve --watch`: keep the workspace's sources in sync on a daemon thread.

    Starts only when the workspace has sources (sources.json), so a plain `serve` pays
    nothing; syncs print one line each on stderr. Returns the running watcher, if any.
    """
    if not (settings.workspace / "sources.json").is_file():
        return None
    from ragstream.sources.watch import Watcher
    from ragstream.workspace import Workspace

    def report(result: SyncResult) -> None:
        if not result.ok or result.report.failed or result.report.count("ingested"):
            click.echo(f"sync {result.summary()}", err=True)

    watcher = Watcher(Workspace(settings).sources, on_result=report)
    watcher.start()
    return watcher
