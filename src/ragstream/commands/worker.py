"""`ragstream worker` (process ingest jobs) and `ragstream jobs` (list, add, retry dead)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from ragstream.commands.options import open_workspace, workspace_options
from ragstream.errors import ConfigError
from ragstream.ingest.pipeline import display_path
from ragstream.queue.blobs import open_blobs
from ragstream.queue.jobs import STATES, JobQueue

blobs_option = click.option(
    "--blobs",
    envvar="RAGSTREAM_BLOBS",
    default=None,
    help="Where queued documents' bytes are kept: a directory or s3://bucket/prefix "
    "[env RAGSTREAM_BLOBS].",
)


def _queue(workspace: Any) -> JobQueue:
    url = workspace.settings.database_url
    if not url:
        raise ConfigError(
            "the ingest queue lives in PostgreSQL: set RAGSTREAM_DATABASE_URL (or _FILE)"
        )
    _ = workspace.store  # opening the store applies migrations (the job table among them)
    return JobQueue(url)


@click.command()
@blobs_option
@click.option("--visibility", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds a claimed job stays leased; a dead worker's job is retried after.")  # fmt: skip
@click.option("--poll", type=click.FloatRange(min=0.05), default=2.0, show_default=True,
              help="Seconds between looks at an empty queue.")  # fmt: skip
@click.option("--max-jobs", type=click.IntRange(min=1), default=None, help="Stop after N jobs.")
@click.option("--until-empty", is_flag=True, help="Stop when no job is waiting or running.")
@click.option("--name", default=None, help="Worker name in the job table [default host:pid].")
@click.option("--publish-depth", is_flag=True,
              help="Publish the queue depth to CloudWatch each minute (RAGstream/IngestQueueDepth, "
              "dimension Stack from RAGSTREAM_STACK): what ECS scales workers on.")  # fmt: skip
@workspace_options
def worker(
    blobs: str | None,
    visibility: float,
    poll: float,
    max_jobs: int | None,
    until_empty: bool,
    name: str | None,
    publish_depth: bool,
    **options: Any,
) -> None:
    """Claim ingest jobs from the PostgreSQL queue and index them (run as many as you like)."""
    from ragstream.queue.metrics import DepthPublisher
    from ragstream.queue.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stack = os.environ.get("RAGSTREAM_STACK", "")
    if publish_depth and not stack:
        raise ConfigError("--publish-depth needs RAGSTREAM_STACK (the deploy stack's name)")
    with open_workspace(options) as workspace, _queue(workspace) as queue:
        _ = workspace.embedder  # load the model before taking a job (and fail before, too)
        tick = DepthPublisher(stack, queue.depth).tick if publish_depth else None
        w = Worker(queue, open_blobs(blobs or ""), workspace.ingest_blobs, name=name,
                   visibility=visibility, poll=poll, tick=tick)  # fmt: skip
        w.install_signal_handlers()
        stats = w.run(max_jobs=max_jobs, until_empty=until_empty)
    click.echo(f"worker {w.name}: {stats.done} done, {stats.failed} failed, {stats.chunks} chunks")


@click.group()
def jobs() -> None:
    """The ingest queue: list jobs, add documents, retry the dead letter."""


@jobs.command("list")
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@workspace_options
def list_jobs(state: str | None, limit: int, **options: Any) -> None:
    """Counts per state, then the newest jobs (errors of dead ones included)."""
    with open_workspace(options) as workspace, _queue(workspace) as queue:
        counts = queue.counts()
        rows = queue.jobs(state, limit)
    click.echo("  ".join(f"{s}: {n}" for s, n in counts.items()))
    for row in rows:
        line = f"{row.id:>6}  {row.state:<7} {row.attempts}/{row.max_attempts}  {row.doc_key}"
        if row.worker and row.state == "running":
            line += f"  [{row.worker}]"
        if row.last_error and row.state in ("dead", "queued"):
            line += f"  -- {row.last_error}"
        click.echo(line)


@jobs.command("add")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))  # fmt: skip
@blobs_option
@click.option("--max-attempts", type=click.IntRange(min=1), default=5, show_default=True)
@workspace_options
def add_jobs(paths: tuple[Path, ...], blobs: str | None, max_attempts: int, **options: Any) -> None:
    """Queue files for the workers (bytes go to the blob store first)."""
    from ragstream.queue.submit import submit

    store = open_blobs(blobs or "")
    with open_workspace(options) as workspace, _queue(workspace) as queue:
        for path in paths:
            key = display_path(path.resolve(), workspace.base)
            job_id = submit(queue, store, key, path.read_bytes(), mtime=path.stat().st_mtime,
                            max_attempts=max_attempts)  # fmt: skip
            click.echo(f"queued {key} as job {job_id}")


@jobs.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Requeue every dead job.")
@workspace_options
def retry_jobs(ids: tuple[int, ...], all_dead: bool, **options: Any) -> None:
    """Requeue dead jobs (IDS, or --all-dead) with fresh attempts."""
    if not ids and not all_dead:
        raise click.UsageError("name job ids or pass --all-dead")
    with open_workspace(options) as workspace, _queue(workspace) as queue:
        n = queue.retry_dead(None if all_dead else list(ids))
    click.echo(f"requeued {n} dead job(s)")
