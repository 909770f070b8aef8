"""`ragstream ingest`, `search` and `docs`: parse, call the Workspace, print."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragstream.commands.options import (
    access_options,
    acting_as,
    asked_collections,
    non_blank,
    open_workspace,
    workspace_options,
)
from ragstream.config import RETRIEVAL_MODES
from ragstream.ingest.report import FileStatus, IngestProgress, IngestReport
from ragstream.models import Hit, locator

STATUS_STYLE: dict[FileStatus, str] = {
    "ingested": "green",
    "unchanged": "dim",
    "skipped": "yellow",
    "failed": "red",
    "removed": "cyan",
    "queued": "blue",
}


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--keep-missing", is_flag=True, help="Keep documents whose files were deleted.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only failures.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-file report as JSON.")
@access_options(many_collections=False)
@workspace_options
def ingest(
    paths: tuple[Path, ...],
    keep_missing: bool,
    quiet: bool,
    as_json: bool,
    collection: str,
    **options: Any,
) -> None:
    """Add PATHS (files or folders) to the index; only new and changed files are processed.

    Exits with status 1 when some files failed (the others are still ingested).
    """
    with open_workspace(options) as workspace:
        into: dict[str, Any] = {"collection": collection, "user": acting_as(workspace, options)}
        if quiet or as_json:
            report = workspace.ingest(list(paths), keep_missing=keep_missing, **into)
        else:
            with _progress_bar() as (bar, task):

                def update(event: IngestProgress) -> None:
                    file = f"{event.path} ({event.detail})" if event.detail else event.path
                    bar.update(task, completed=event.done, total=event.total, file=file)

                report = workspace.ingest(
                    list(paths), keep_missing=keep_missing, progress=update, **into
                )
    if as_json:
        click.echo(json.dumps(_report_dict(report), indent=2))
    else:
        _print_report(report, quiet)
    if report.failed:
        sys.exit(1)


@click.command()
@click.argument("query", callback=non_blank)
@click.option("-k", "--top-k", "k", type=int, default=None, help="Number of results [default 5].")
@click.option("--mode", type=click.Choice(RETRIEVAL_MODES), default=None)
@click.option(
    "--path", "path_glob", default=None, help='Only files matching this glob, e.g. "docs/*.pdf".'
)
@click.option(
    "--rerank",
    is_flag=True,
    help="Rescore the top hits with the reranker setting (ColBERT by default; slower).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@access_options(many_collections=True)
@workspace_options
def search(
    query: str,
    k: int | None,
    mode: str | None,
    path_glob: str | None,
    rerank: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Print the chunks that best match QUERY: file, page, score and a snippet."""
    collections = asked_collections(options)
    with open_workspace(options) as workspace:
        user = acting_as(workspace, options)
        hits = workspace.search(
            query,
            k=k,
            mode=mode,
            path_glob=path_glob,
            collections=collections,
            user=user,
            rerank=rerank,
        )
    if as_json:
        click.echo(json.dumps([_hit_dict(h) for h in hits], indent=2))
        return
    if not hits:
        click.echo("No results. Has anything been ingested? Try: ragstream ingest ./docs")
        return
    console = Console()
    for rank, hit in enumerate(hits, 1):
        console.print(f"[bold]{rank}. {_where(hit)}[/bold]  [dim]score {hit.score:.3f}[/dim]")
        console.print("   " + _snippet(hit.chunk.text), highlight=False, markup=False)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--remove", "remove_path", default=None, help="Remove this document from the index.")
@access_options(many_collections=True)
@workspace_options
def docs(as_json: bool, remove_path: str | None, **options: Any) -> None:
    """List the documents in the workspace (or remove one with --remove PATH)."""
    collections = asked_collections(options)
    with open_workspace(options) as workspace:
        user = acting_as(workspace, options)
        if remove_path is not None:
            if not workspace.remove(remove_path, user=user):
                raise click.ClickException(
                    f"{remove_path} is not in the index, or not in a collection you may "
                    "change (see: ragstream docs)"
                )
            click.echo(f"removed {remove_path}")
            return
        documents = workspace.documents(collections=collections, user=user)
    if as_json:
        click.echo(json.dumps([asdict(d) for d in documents], indent=2))
        return
    table = Table("document", "collection", "chunks", "pages", "ingested")
    for d in documents:
        when = datetime.fromtimestamp(d.ingested_at).strftime("%Y-%m-%d %H:%M")
        table.add_row(d.path, d.collection, str(d.n_chunks), str(d.n_pages or "-"), when)
    Console().print(table)


def _progress_bar() -> Any:
    progress = Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[file]}", style="dim"),
        console=Console(stderr=True),
        transient=True,
    )

    class _Bar:
        def __enter__(self) -> tuple[Progress, Any]:
            progress.start()
            return progress, progress.add_task("ingest", total=None, file="")

        def __exit__(self, *exc: object) -> None:
            progress.stop()

    return _Bar()


def _print_report(report: IngestReport, quiet: bool) -> None:
    console = Console(stderr=quiet)
    for f in report.files:
        if quiet and f.status != "failed":
            continue
        style = STATUS_STYLE[f.status]
        detail = f" ({f.n_chunks} chunks)" if f.status == "ingested" else ""
        reason = f": {f.reason}" if f.reason else ""
        console.print(f"[{style}]{f.status:9}[/{style}] {f.path}{detail}{reason}", highlight=False)
    if not quiet:
        counts = ", ".join(f"{report.count(s)} {s}" for s in STATUS_STYLE if report.count(s))
        console.print(
            f"{counts or 'nothing to do'}; {report.chunks_embedded} chunks embedded "
            f"in {report.seconds:.1f}s",
            highlight=False,
        )


def _report_dict(report: IngestReport) -> dict[str, Any]:
    return {
        "files": [asdict(f) for f in report.files],
        "seconds": round(report.seconds, 3),
        "chunks_embedded": report.chunks_embedded,
    }


def _where(hit: Hit) -> str:
    c = hit.chunk
    where = locator(c.path, c.page, c.title, c.lines)
    return f"{c.path} {where}" if where else c.path


def _hit_dict(hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {
        "id": c.id,
        "path": c.path,
        "page": c.page,
        "title": c.title,
        "start": c.start,
        "end": c.end,
        "line_start": c.line_start,
        "line_end": c.line_end,
        "score": hit.score,
        "ranks": hit.ranks,
        "text": c.text,
    }


def _snippet(text: str, limit: int = 220) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + " …"
