"""`ragstream eval DATASET_DIR`: retrieval quality per mode on a BEIR-layout data set."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ragstream.config import Settings, load_settings
from ragstream.retrieve.abstain import abstainer
from ragstream.retrieve.evaluate import (
    MODES,
    BeirDataset,
    collect_candidates,
    load_beir,
    metric_names,
    rankings,
    score_run,
)
from ragstream.retrieve.evaluate_rerank import Pipeline, evaluate_pipeline
from ragstream.retrieve.fusion import DEFAULT_FUSION_NAME, FUSIONS
from ragstream.retrieve.rerank import create_reranker, recipe_for, reranker_name, resolved
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
@click.option(
    "--embedder",
    default=None,
    help='Embedding model(s), comma-separated: each is evaluated [default "auto": by the corpus language].',
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
    table = Table(title="Pipelines: abstention and the time reranking and abstaining add")
    for column in ("pipeline", "reranker", "answerable abstained", "unanswerable abstained"):
        table.add_column(column)
    table.add_column("rerank ms p50", justify="right")
    table.add_column("abstain ms p50", justify="right")
    for label, p in pipelines.items():
        a = p["abstention"]
        table.add_row(
            label,
            p["reranker"],
            f"{a['answerable abstained']:.1%}",
            f"{a['unanswerable abstained']:.1%}",
            f"{p['rerank_ms_p50']:.0f}",
            f"{p['abstain_ms_p50']:.0f}",
        )
    return table


def evaluate_dataset(
    dataset: BeirDataset,
    settings: Settings,
    modes: Sequence[str] = MODES,
    k: int = 10,
    compare_fusions: bool = True,
    rerankers: Sequence[str] = (),
) -> dict[str, Any]:
    """Ingest `dataset` into a throw-away SQLite workspace and score each mode (and fusion),
    then each pipeline: "hybrid+<reranker>" for each of `rerankers`, and "default", what
    `ask` uses with `settings` (see retrieve/evaluate_rerank for abstention and latency)."""
    started = time.perf_counter()
    # ColBERT reads passage vectors stored at ingest (as a colbert workspace does), so the
    # eval ingest stores them whenever a pipeline may use it (the default may: it depends
    # on the embedder, known once the ingest has chosen it)
    uses_colbert = "colbert" in rerankers or (settings.reranker or "colbert") == "colbert"
    with tempfile.TemporaryDirectory(prefix="ragstream-eval-") as tmp:
        # database_url=None: an eval must never write into the user's real database
        ws = Workspace.open(
            settings.replace(
                workspace=Path(tmp),
                database_url=None,
                reranker="colbert" if uses_colbert else settings.reranker,
            )
        )
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
            pipelines: dict[str, Any] = {}
            made = _pipelines(resolved(settings, ws.embedder.name), rerankers)
            for label, pipeline in made.items():
                if pipeline.reranker_name == "colbert":
                    colbert = create_reranker(settings.replace(reranker="colbert"), ws.store)
                    pipeline = replace(pipeline, reranker=colbert)
                found = evaluate_pipeline(
                    pipeline, ws.store, dataset.queries, lists, doc_of_chunk, dataset.qrels,
                    retriever.rank, settings.top_k,
                )  # fmt: skip
                results[label] = score_run(found.pop("runs"), dataset.qrels, k)
                pipelines[label] = {"reranker": pipeline.reranker_name, **found}
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
        "pipelines": pipelines,
        "fusions": fusions,
        "ingest_seconds": round(ingest_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }


def _pipelines(settings: Settings, rerankers: Sequence[str]) -> dict[str, Pipeline]:
    """ "hybrid+<name>" per reranker asked for, and "default": what `ask` runs."""
    made: dict[str, Pipeline] = {}
    for label, spec in [*((f"hybrid+{r}", r) for r in rerankers), ("default", None)]:
        chosen = settings.replace(reranker=spec) if spec else settings
        name = reranker_name(chosen)
        same = next((p for p in made.values() if p.reranker_name == name), None)
        made[label] = same or Pipeline(
            label, create_reranker(chosen), recipe_for(name), name, abstainer(settings.abstain)
        )
    return made
