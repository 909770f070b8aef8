"""`ragstream eval DATASET_DIR`: retrieval quality per mode on a BEIR-layout data set."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ragstream.config import Settings, load_settings
from ragstream.retrieve.evaluate import (
    MODES,
    BeirDataset,
    collect_candidates,
    load_beir,
    metric_names,
    rankings,
    score_run,
)
from ragstream.retrieve.fusion import DEFAULT_FUSION_NAME, FUSIONS
from ragstream.workspace import Workspace


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
@click.option("--embedder", default=None, help='Embedding model [default "builtin"].')
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate(
    dataset_dir: Path,
    modes: str,
    k: int,
    split: str,
    fusions: bool,
    embedder: str | None,
    as_json: bool,
) -> None:
    """Ingest DATASET_DIR (corpus.jsonl, queries.jsonl, qrels/test.tsv) into a temporary
    workspace and print nDCG, Recall@5, Recall@k and MRR for each retrieval mode."""
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODES]
    if unknown or not chosen:
        raise click.BadParameter(f"use some of {', '.join(MODES)}", param_hint="--modes")
    dataset = load_beir(dataset_dir, split)
    settings = load_settings({"embedder": embedder})
    status = f"ingesting {len(dataset.corpus)} documents and running {len(dataset.queries)} queries"
    with Console(stderr=True).status(status):  # a spinner on stderr; --json stdout stays clean
        result = evaluate_dataset(dataset, settings, chosen, k, compare_fusions=fusions)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        print_result(result)


def print_result(result: dict[str, Any]) -> None:
    console = Console()
    names = metric_names(result["k"])
    title = (
        f"{result['dataset']}: {result['queries']} queries, {result['documents']} documents, "
        f"{result['embedder']}"
    )
    console.print(_table(title, "mode", result["modes"], names))
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


def evaluate_dataset(
    dataset: BeirDataset,
    settings: Settings,
    modes: Sequence[str] = MODES,
    k: int = 10,
    compare_fusions: bool = True,
) -> dict[str, Any]:
    """Ingest `dataset` into a throw-away SQLite workspace and score each mode (and fusion)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ragstream-eval-") as tmp:
        # database_url=None: an eval must never write into the user's real database
        ws = Workspace.open(settings.replace(workspace=Path(tmp), database_url=None))
        try:
            report = ws.add_documents(dataset.documents())
            ingest_seconds = time.perf_counter() - started
            retriever = ws.retriever
            lists, doc_of_chunk = collect_candidates(retriever, dataset.queries, max(50, k))
            results = {
                mode: score_run(
                    rankings(lists, doc_of_chunk, retriever.rank, mode), dataset.qrels, k
                )
                for mode in modes
            }
            fusions = {
                name: score_run(rankings(lists, doc_of_chunk, fusion, "fused"), dataset.qrels, k)
                for name, fusion in FUSIONS.items()
            } if compare_fusions else {}  # fmt: skip
            embedder = ws.embedder.name
        finally:
            ws.close()
    return {
        "dataset": dataset.name,
        "documents": len(dataset.corpus),
        "failed_documents": [f"{f.path}: {f.reason}" for f in report.failed],
        "queries": sum(1 for q in dataset.queries if dataset.qrels.get(q)),
        "embedder": embedder,
        "k": k,
        "default_fusion": DEFAULT_FUSION_NAME,
        "modes": results,
        "fusions": fusions,
        "ingest_seconds": round(ingest_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
