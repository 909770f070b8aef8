"""`ragstream eval DATASET_DIR`: retrieval quality per mode on a BEIR-layout data set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ragstream.config import load_settings
from ragstream.retrieve.evaluate import MODES, evaluate_dataset, load_beir, metric_names


@click.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--modes",
    default=",".join(MODES),
    show_default=True,
    help="Comma-separated retrieval modes to score.",
)
@click.option("--k", "k", type=click.IntRange(5, 100), default=10, show_default=True,
              help="Cut-off for nDCG, Recall and MRR (Recall@5 is always shown).")  # fmt: skip
@click.option("--split", default="test", show_default=True, help="Which qrels/<split>.tsv to use.")
@click.option("--fusions/--no-fusions", default=True, show_default=True,
              help="Also compare the fusion variants on the same candidates.")  # fmt: skip
@click.option(
    "--embedder",
    default=None,
    help='Embedding model(s), comma-separated: each is evaluated [default "builtin"].',
)
@click.option(
    "--reranker",
    "rerankers",
    default="",
    help='Rerankers to compare, comma-separated ("colbert,cross-encoder,none"); the '
    '"default" pipeline (what `ask` uses) is always scored.',
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate(
    dataset_dir: Path,
    modes: str,
    k: int,
    split: str,
    fusions: bool,
    embedder: str | None,
    rerankers: str,
    as_json: bool,
) -> None:
    """Ingest DATASET_DIR (corpus.jsonl, queries.jsonl, qrels/test.tsv) into a temporary
    workspace and print nDCG, Recall@5, Recall@k and MRR for each retrieval mode and
    pipeline, with abstention rates (each question with and without its answer in the
    corpus) and the time reranking adds. With several embedders, --json prints
    {"runs": [one result per embedder]}."""
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODES]
    if unknown or not chosen:
        raise click.BadParameter(f"use some of {', '.join(MODES)}", param_hint="--modes")
    dataset = load_beir(dataset_dir, split)
    chosen_rerankers = [r.strip() for r in rerankers.split(",") if r.strip()]
    results = []
    specs: list[str | None] = [e.strip() for e in (embedder or "").split(",") if e.strip()]
    for spec in specs or [None]:
        settings = load_settings({"embedder": spec})
        status = (
            f"{settings.embedder}: ingesting {len(dataset.corpus)} documents and running "
            f"{len(dataset.queries)} queries"
        )
        with Console(stderr=True).status(status):  # a spinner on stderr; stdout stays clean
            results.append(
                evaluate_dataset(
                    dataset,
                    settings,
                    chosen,
                    k,
                    compare_fusions=fusions,
                    rerankers=chosen_rerankers,
                )
            )
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else {"runs": results}, indent=2))
    else:
        for result in results:
            print_result(result)


def print_result(result: dict[str, Any]) -> None:
    console = Console()
    names = metric_names(result["k"])
    title = (
        f"{result['dataset']}: {result['queries']} queries, {result['documents']} documents, "
        f"{result['embedder']}"
    )
    console.print(_table(title, "mode", result["modes"], names))
    if result["pipelines"]:
        console.print(_pipeline_table(result["pipelines"]))
    for failure in result["failed_documents"]:
        console.print(f"[red]not indexed[/red] {failure}")
    if result["fusions"]:
        fusion_title = f"Fusion variants (hybrid = {result['default_fusion']})"
        console.print(_table(fusion_title, "fusion", result["fusions"], names))


def _table(title: str, first: str, rows: dict[str, dict[str, float]], names: list[str]) -> Table:
    table = Table(title=title)
    table.add_column(first)
    for name in names:
        table.add_column(name, justify="right")
    best = {n: max(r[n] for r in rows.values()) for n in names}
    for label, metrics in rows.items():
        table.add_row(
            label,
            *(
                f"[bold]{metrics[n]:.3f}[/bold]" if metrics[n] == best[n] else f"{metrics[n]:.3f}"
                for n in names
            ),
        )
    return table


def _pipeline_table(pipelines: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="Pipelines: abstention and the time reranking adds")
    for column in ("pipeline", "reranker", "answerable abstained", "unanswerable abstained"):
        table.add_column(column)
    table.add_column("rerank ms p50", justify="right")
    for label, p in pipelines.items():
        a = p["abstention"]
        table.add_row(
            label,
            p["reranker"],
            f"{a['answerable abstained']:.1%}",
            f"{a['unanswerable abstained']:.1%}",
            f"{p['rerank_ms_p50']:.0f}",
        )
    return table
