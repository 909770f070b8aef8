"""`ragstream ask`: stream an answer to stdout, then the sources it cites."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click

from ragstream.commands.options import (
    access_options,
    acting_as,
    asked_collections,
    non_blank,
    open_workspace,
    workspace_options,
)
from ragstream.config import RETRIEVAL_MODES
from ragstream.errors import RagstreamError
from ragstream.generate.events import Delta, Done, Event, Source, Sources


@click.command()
@click.argument("question", callback=non_blank)
@click.option(
    "--model", default=None, help="Chat model [env RAGSTREAM_MODEL; default gpt-4o-mini]."
)
@click.option(
    "--base-url",
    default=None,
    help="OpenAI-compatible server, e.g. http://localhost:11434/v1 [env OPENAI_BASE_URL].",
)
@click.option(
    "-k",
    "--k",
    "--top-k",
    "k",
    type=click.IntRange(min=1),
    default=None,
    help="Passages to retrieve [default 5].",
)
@click.option("--mode", type=click.Choice(RETRIEVAL_MODES), default=None, help="Retrieval mode.")
@click.option(
    "--path",
    "--glob",
    "path_glob",
    default=None,
    help='Only files matching this glob, e.g. "docs/*.pdf".',
)
@click.option("--offline", is_flag=True, help="Extractive answer even when an LLM is configured.")
@click.option("--prompt-only", is_flag=True, help="Print the assembled prompt; send nothing.")
@click.option("--stats", is_flag=True, help="Print timings and token usage on stderr.")
@access_options(many_collections=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"answer", "citations", "answered"} as JSON once the answer is complete.',
)
@workspace_options
def ask(question: str, **options: Any) -> None:
    """Answer QUESTION from the workspace's documents, citing them as [n].

    Without OPENAI_API_KEY (or --base-url) the answer is extractive: the most relevant
    sentences of your documents, each with its citation. No key ever appears in output.
    """
    prompt_only, stats, offline, as_json = (
        options.pop(n) for n in ("prompt_only", "stats", "offline", "as_json")
    )
    base_url = options.pop("base_url")
    search: dict[str, Any] = {n: options.pop(n) for n in ("model", "k", "mode", "path_glob")}
    search["collections"] = asked_collections(options)
    workspace = open_workspace(options, openai_base_url=base_url)
    try:
        search["user"] = acting_as(workspace, options)
        if prompt_only:
            click.echo(workspace.prompt(question, **search), nl=False)
            return
        events = workspace.ask(question, offline=offline or None, **search)
        if as_json:
            _print_json(events, stats)
        else:
            _print_stream(events, stats)
    finally:
        workspace.close()


def _print_stream(events: Iterator[Event], stats: bool) -> None:
    printed = False
    sources: tuple[Source, ...] = ()
    try:
        for event in events:
            if isinstance(event, Sources):
                sources = event.sources
            elif isinstance(event, Delta):
                click.echo(event.text, nl=False)
                printed = True
            elif isinstance(event, Done):
                click.echo()
                cited = event.citations or sources
                if cited:
                    heading = "" if event.citations else "retrieved (none cited): "
                    click.echo("\n" + heading + "   ".join(f"[{s.n}] {s.label}" for s in cited))
                if stats:
                    click.echo(_stats_line(event), err=True)
    except RagstreamError:
        if printed:
            click.echo()  # the error line must not run on after half an answer
        raise


def _print_json(events: Iterator[Event], stats: bool) -> None:
    """The finished answer as one JSON object: answered is false when it abstained."""
    done = next(e for e in events if isinstance(e, Done))
    citations = [
        {"n": s.n, "label": s.label, "path": s.path, "page": s.page, "title": s.title}
        for s in done.citations
    ]
    click.echo(
        json.dumps(
            {"answer": done.answer, "citations": citations, "answered": done.answered}, indent=2
        )
    )
    if stats:
        click.echo(_stats_line(done), err=True)


def _stats_line(done: Done) -> str:
    t = done.timings
    first = f"{t.first_token_ms:.0f} ms" if t.first_token_ms is not None else "-"
    line = f"sources {t.retrieval_ms:.0f} ms, first text {first}, total {t.total_ms:.0f} ms"
    if done.usage:
        line += f"; tokens {done.usage.prompt_tokens} in, {done.usage.completion_tokens} out"
    return line + (" (offline)" if done.offline else f" ({done.model})")
