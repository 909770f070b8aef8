"""Answer latency at 10k chunks: question -> Sources event, and the library's own time
before the first token request reaches a local streaming server.

    python bench/answer_latency.py [--chunks 10000] [--queries 30]

The store is built fast: real text (the FAQ corpus in bench/data/faq-en, two answers
per chunk so texts differ) with random unit vectors instead of embeddings (dense search
costs the same whatever the values); queries are the FAQ's real questions, embedded by
the real builtin embedder. The LLM is the loopback Chat Completions server of the tests
(tests/generate/sse_server.py) in this process, answering with no delay; its request
arrival time is stamped with the same clock, so the server's own work is excluded.

Baselines, measured in the same run: `Workspace.search` alone (what Sources adds on top
of retrieval), and the bare `openai` client sending the same messages (what the library
adds on top of the HTTP client). Targets (issue 3): Sources <= 50 ms; library <= 20 ms
before the request. Writes bench/results/answer_latency.json (medians in ms).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the loopback server lives with the tests

from ragstream.config import Settings  # noqa: E402
from ragstream.generate.answer import prompt_messages  # noqa: E402
from ragstream.generate.events import Delta, Done, Sources  # noqa: E402
from ragstream.generate.llm import ChatModel  # noqa: E402
from ragstream.models import Chunk, DocumentRecord, Hit  # noqa: E402
from ragstream.retrieve.abstain import abstainer  # noqa: E402
from ragstream.retrieve.rerank import reranker_name  # noqa: E402
from ragstream.retrieve.rerank_onnx import ColbertReranker  # noqa: E402
from ragstream.workspace import Workspace  # noqa: E402
from tests.generate.sse_server import start_server  # noqa: E402

RESULT = ROOT / "bench" / "results" / "answer_latency.json"
DATA = ROOT / "bench" / "data" / "faq-en"
CHUNKS_PER_DOC = 100


def read_jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def build_workspace(directory: Path, n_chunks: int, token_vectors: bool = False) -> Workspace:
    """`token_vectors`: store ColBERT passage vectors as an ingest with reranker=colbert
    would. Chunk i's text depends only on i % len(answers), so each distinct text is
    encoded once and its vectors reused for the repeats (titles differ; lengths do not)."""
    answers = [row["text"] for row in read_jsonl(DATA / "corpus.jsonl")]
    ws = Workspace(Settings(workspace=directory, reranker="none"))
    encode = ColbertReranker().chunk_blobs if token_vectors else None
    blobs: dict[int, bytes] = {}
    embedder = ws.embedder
    ws.store.set_meta(
        {"embedder": embedder.name, "dim": str(embedder.dim), "embedder_spec": "builtin"}
    )
    rng = np.random.default_rng(7)
    for d in range(0, n_chunks, CHUNKS_PER_DOC):
        path = f"faq/part-{d // CHUNKS_PER_DOC:03d}.md"
        chunks = []
        for i in range(d, min(d + CHUNKS_PER_DOC, n_chunks)):
            text = f"{answers[i % len(answers)]} {answers[(i * 7 + 3) % len(answers)]}"
            chunks.append(
                Chunk(
                    id=f"c{i}",
                    path=path,
                    text=text,
                    ordinal=i - d,
                    title=f"Part {i}",
                    end=len(text),
                    n_tokens=len(text.split()),
                )
            )
        vectors = rng.standard_normal((len(chunks), embedder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        sha = hashlib.sha256(path.encode()).hexdigest()
        record = DocumentRecord(path, sha, 0, 0.0, len(chunks), None, time.time())
        aligned: list[bytes | None] | None = None
        if encode:
            keys = [int(c.id[1:]) % len(answers) for c in chunks]
            new = list(dict.fromkeys(k for k in keys if k not in blobs))
            by_key = {int(c.id[1:]) % len(answers): c for c in reversed(chunks)}
            blobs.update(zip(new, encode([by_key[k] for k in new]), strict=True))
            aligned = [blobs[k] for k in keys]
        ws.store.replace_document(record, chunks, vectors, aligned)
    return ws


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


class TimedWorkspace(Workspace):
    """A workspace that times each search, including the one inside an answer (`ask`
    searches through `_search`, with the reranker; `search` without, unless asked)."""

    last_ms = 0.0

    def _search(self, *args: Any, **options: Any) -> list[Hit]:
        started = time.perf_counter()
        hits = super()._search(*args, **options)
        self.last_ms = (time.perf_counter() - started) * 1000
        return hits


def run(
    n_chunks: int,
    n_queries: int,
    n_offline: int,
    warmup: int = 3,
    reranker: str | None = None,
    stored: bool = True,
    abstain: str = "auto",
) -> dict[str, object]:
    queries = [row["text"] for row in read_jsonl(DATA / "queries.jsonl")][: n_queries + warmup]
    server = start_server()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        token_vectors = stored and reranker == "colbert"
        offline_ws = build_workspace(Path(tmp) / "ws", n_chunks, token_vectors)
        build_s = time.perf_counter() - started
        settings = offline_ws.settings.replace(
            openai_api_key="sk-bench",
            openai_base_url=server.base_url,
            reranker=reranker,
            abstain=abstain,
        )
        judge = abstainer(settings.abstain)
        ws = TimedWorkspace(settings)
        assert ws.store.count_chunks() == n_chunks
        bare = ChatModel(settings)._client  # the same cached openai client the library uses

        rows: dict[str, list[float]] = {k: [] for k in (
            "search_ms", "search_without_rerank_ms", "sources_ms", "sources_minus_search_ms", "request_after_sources_ms",
            "bare_client_request_ms", "request_after_question_ms", "first_token_ms",
            "offline_answer_ms", "abstain_model_ms",
        )}  # fmt: skip

        def bare_request(messages: Any) -> float:
            server.script()
            t0 = time.perf_counter()
            for _ in bare.chat.completions.create(
                model=settings.model, messages=messages, stream=True
            ):
                pass
            return (server.requests[0].arrived - t0) * 1000

        def plain_search(query: str) -> float:
            """The same search without the reranker: what reranking adds to `ask`."""
            t0 = time.perf_counter()
            Workspace.search(ws, query, rerank=False)  # untimed: not the answer's search
            return (time.perf_counter() - t0) * 1000

        for i, query in enumerate(queries):
            messages, _ = prompt_messages(query, settings=ws.settings, search=ws.search)
            bare_first = i % 2 == 0  # alternate, so drifting load hits both sides alike
            bare_ms = bare_request(messages) if bare_first else 0.0
            plain_ms = plain_search(query) if bare_first else 0.0

            server.script()
            t0 = time.perf_counter()
            events = ws.ask(query)
            first = next(events)
            t_sources = time.perf_counter()
            assert isinstance(first, Sources) and first.sources
            first_token = None
            for event in events:
                if isinstance(event, Delta) and first_token is None:
                    first_token = time.perf_counter()
                if isinstance(event, Done):
                    assert not event.offline and event.answer
            arrived = server.requests[0].arrived
            ask_search_ms = ws.last_ms  # before plain_search below times its own
            bare_ms = bare_ms if bare_first else bare_request(messages)
            plain_ms = plain_ms if bare_first else plain_search(query)

            if judge.scorer is not None:  # the model's own cost, whatever the dense floor says
                hits = Workspace.search(ws, query, rerank=True)
                t_judge = time.perf_counter()
                judge.features(query, hits)
                rows["abstain_model_ms"].append((time.perf_counter() - t_judge) * 1000)
            if i < warmup:  # loads the tokenizer vocabulary, the openai module, caches
                continue
            rows["search_ms"].append(ask_search_ms)
            rows["search_without_rerank_ms"].append(plain_ms)
            rows["sources_ms"].append((t_sources - t0) * 1000)
            rows["sources_minus_search_ms"].append((t_sources - t0) * 1000 - ask_search_ms)
            rows["request_after_sources_ms"].append((arrived - t_sources) * 1000)
            rows["bare_client_request_ms"].append(bare_ms)
            rows["request_after_question_ms"].append((arrived - t0) * 1000)
            rows["first_token_ms"].append(((first_token or arrived) - t0) * 1000)
            if i < warmup + n_offline:
                t0 = time.perf_counter()
                done = list(offline_ws.ask(query))[-1]
                rows["offline_answer_ms"].append((time.perf_counter() - t0) * 1000)
                assert isinstance(done, Done) and done.offline
        settings_of_run = settings
        ws.close()
        offline_ws.close()
    server.shutdown()

    rows["abstain_model_ms"] = rows["abstain_model_ms"][warmup:]
    medians = {name: median(values) if values else 0.0 for name, values in rows.items()}
    library_ms = round(
        medians["sources_minus_search_ms"]
        + medians["request_after_sources_ms"]
        - medians["bare_client_request_ms"],
        2,
    )
    rerank_added = round(medians["search_ms"] - medians["search_without_rerank_ms"], 2)
    return {
        "bench": "answer_latency",
        "reranker": reranker_name(settings_of_run),
        "stored_token_vectors": token_vectors,
        "abstain": settings_of_run.abstain,
        "chunks": n_chunks,
        "queries": n_queries,
        "store_build_s": round(build_s, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "medians_ms": medians,
        "p95_ms": {
            name: round(float(np.percentile(v, 95)), 2) if v else 0.0 for name, v in rows.items()
        },
        "library_before_request_ms": library_ms,
        "rerank_added_ms": rerank_added,
        "ratios": {
            "sources_over_search": round(medians["sources_ms"] / medians["search_ms"], 3),
            "request_after_sources_over_bare_client": round(
                medians["request_after_sources_ms"] / medians["bare_client_request_ms"], 3
            ),
        },
        "targets": {
            "sources_ms_le_50": medians["sources_ms"] <= 50,
            "library_before_request_ms_le_20": library_ms <= 20,
            "rerank_added_ms_le_500": rerank_added <= 500,
        },
        "notes": (
            "sources_ms: question -> Sources event; search_ms: the Workspace.search call "
            "inside it (query embedding, BM25, dense, fusion); sources_minus_search_ms: the "
            "rest (standalone question, token counting, packing). request_after_sources_ms: "
            "Sources -> request arrival at the loopback server; bare_client_request_ms: the "
            "openai client alone sending the same messages (alternated with the library). "
            "library_before_request_ms = sources_minus_search + request_after_sources - "
            "bare_client: what the library adds before the request, excluding retrieval and "
            "the HTTP client. first_token_ms: question -> first Delta (server adds no delay). "
            "search_without_rerank_ms: the same search with rerank=False, alternated; "
            "rerank_added_ms = search_ms - search_without_rerank_ms (medians). "
            "abstain_model_ms: the abstention model reading the top hits (cross-encoder, "
            "retrieve/abstain.py), timed apart; inside an answer it runs after Sources and "
            "before the LLM request (so within request_after_sources_ms) unless the dense "
            "floor already decided."
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--offline", type=int, default=10, help="queries also answered offline")
    parser.add_argument(
        "--reranker", default="none", help="reranker setting, e.g. colbert [default: none]"
    )
    parser.add_argument(
        "--query-time",
        action="store_true",
        help="colbert: encode passages at query time instead of storing them at build",
    )
    parser.add_argument("--abstain", default="auto", help="abstain setting [default: auto]")
    args = parser.parse_args()
    result = run(
        args.chunks,
        args.queries,
        args.offline,
        reranker=args.reranker,
        stored=not args.query_time,
        abstain=args.abstain,
    )
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    result_file = RESULT
    if args.reranker != "none":
        suffix = "-query-time" if args.query_time else ""
        result_file = RESULT.with_name(f"answer_latency-{args.reranker}{suffix}.json")
    result_file.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
