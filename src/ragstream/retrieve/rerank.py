"""Reranking: a second pass that rescores the top fused hits, fused with their score.

`reranker` = "colbert" (default), "cross-encoder" (both offline, `rerank_onnx.py`),
"openai:<model>" (an OpenAI-compatible chat model grades each passage 0-10) or "none".
`ask` and the page rerank; `search` only with `--rerank`. ColBERT is the default (over
the builtin English embedder; none over the multilingual one, see default_reranker) since
its passage vectors are stored at ingest (`colbert_codec.py`): a question then encodes
only itself, ~0.1-0.2 s at depth 20 on this 2-core machine under load
(bench/answer_latency.py --reranker colbert), and it raised nDCG@10 on every evaluation
set (bench/colbert_stored.py, bench/eval_rerank.py). Depth and weight per reranker were
chosen on the odd-numbered FAQ questions and are in RECIPES.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ragstream.config import Settings
from ragstream.errors import ConfigError, GenerationError
from ragstream.index.store import Store
from ragstream.models import Chunk
from ragstream.openai_client import Endpoint, explain, openai_client
from ragstream.retrieve.fusion import Candidates, normalise

MAX_RETRIES = 1
MAX_PASSAGE_CHARS = 1200  # keeps the prompt bounded whatever the chunk size
PROMPT = """Grade how well each passage answers the question, from 0 (unrelated) to 10 \
(answers it fully). Reply with JSON only: {{"scores": [one number per passage, in order]}}.

Question: {query}

{passages}"""


class Reranker(Protocol):
    def rerank(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        """One relevance score per chunk, aligned with `chunks`; higher is better."""
        ...


class OpenAIReranker:
    """Scores passages with one chat completion per query (any OpenAI-compatible server)."""

    name = "openai"

    def __init__(self, model: str, endpoint: Endpoint) -> None:
        self.model = model
        self.endpoint = endpoint

    def rerank(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        if not chunks:
            return []
        client = openai_client(self.endpoint, MAX_RETRIES)
        passages = "\n\n".join(
            f"[{i}] {c.text[:MAX_PASSAGE_CHARS]}" for i, c in enumerate(chunks, start=1)
        )
        try:
            response = client.chat.completions.create(
                model=self.model,
                temperature=0,
                messages=[
                    {"role": "user", "content": PROMPT.format(query=query, passages=passages)}
                ],
            )
        except Exception as exc:
            failure = explain(
                exc,
                where=self.endpoint.url,
                timeout=self.endpoint.timeout,
                retries=MAX_RETRIES,
                no_model=f"has no model {self.model!r} (404): check the reranker setting",
            )
            raise GenerationError(
                f"reranker openai:{self.model} failed: {failure.message}"
            ) from None
        return parse_scores(response.choices[0].message.content or "", len(chunks), self.model)


def parse_scores(reply: str, expected: int, model: str = "model") -> list[float]:
    """The scores in a reply like '{"scores": [3, 9]}' (code fences and chatter tolerated)."""
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    try:
        scores = json.loads(match.group(0))["scores"] if match else None
        values = [float(s) for s in scores] if isinstance(scores, list) else []
    except (ValueError, TypeError, KeyError):
        values = []
    if len(values) != expected:
        raise GenerationError(
            f"reranker openai:{model} returned {len(values)} scores for {expected} passages; "
            "use a model that follows JSON instructions or turn the reranker off"
        )
    return values


RERANKERS = ("none", "colbert", "cross-encoder")  # and "openai:<model>"
DEFAULT_RERANKER = "colbert"  # what an unset `reranker` means (see the module docstring)


def default_reranker(embedder_name: str) -> str:
    """What an unset `reranker` means over this embedder's first stage: ColBERT (an
    English model) over MiniLM's, nothing over multilingual-e5's, which ColBERT lowered
    (FAQ Swedish nDCG@10 0.681 -> 0.640, `ragstream eval bench/data/faq-sv`)."""
    return "none" if embedder_name.startswith("multilingual") else DEFAULT_RERANKER


def resolved(settings: Settings, embedder_name: str) -> Settings:
    """`settings` with an unset reranker made explicit for this embedder."""
    if settings.reranker and settings.reranker.strip():
        return settings
    return settings.replace(reranker=default_reranker(embedder_name))


@dataclass(frozen=True)
class Recipe:
    depth: int  # how many fused hits are rescored
    weight: float  # the reranker's share in the fused score


# chosen on the odd-numbered FAQ questions, see bench/eval_rerank.py and the README
RECIPES = {
    "none": Recipe(0, 0.0),
    # chosen on the odd FAQ questions with the stored int8 vectors (bench/colbert_stored.py);
    # even half, nDCG@10: English 0.715 -> 0.734, Swedish 0.447 -> 0.474
    "colbert": Recipe(30, 0.6),
    "cross-encoder": Recipe(5, 1.0),  # best on the odd half; 0.713 -> 0.707 on the even
    "openai": Recipe(20, 0.6),  # not measurable here (no LLM): the earlier ColBERT recipe
}


def reranker_name(settings: Settings) -> str:
    """The reranker `settings` ask for (DEFAULT_RERANKER when unset), checked."""
    spec = (settings.reranker or DEFAULT_RERANKER).strip()
    if spec in RERANKERS or (spec.startswith("openai:") and spec.removeprefix("openai:")):
        return spec
    raise ConfigError(f"reranker={spec!r}: use one of {', '.join(RERANKERS)} or 'openai:<model>'")


def recipe_for(name: str) -> Recipe:
    return RECIPES["openai" if name.startswith("openai:") else name]


def create_reranker(settings: Settings, store: Store | None = None) -> Reranker | None:
    """The reranker `settings.reranker` names (see reranker_name); None for "none".
    ColBERT reads the passage vectors ingest stored in `store`, when it has them."""
    name = reranker_name(settings)
    if name == "none":
        return None
    if name in ("colbert", "cross-encoder"):
        from ragstream.retrieve.rerank_onnx import ColbertReranker, CrossEncoderReranker

        if name == "cross-encoder":
            return CrossEncoderReranker()
        return ColbertReranker(stored=store.token_vectors_for if store else None)
    if not settings.openai_api_key and not settings.openai_base_url:
        raise ConfigError(
            f"reranker={name}: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)"
        )
    return OpenAIReranker(name.removeprefix("openai:"), Endpoint.of(settings))


def ingest_token_vectors(settings: Settings) -> Callable[[Sequence[Chunk]], list[bytes]] | None:
    """What ingest stores for the configured reranker: ColBERT's passage vectors (so a
    question encodes only itself), nothing for the others."""
    if reranker_name(settings) != "colbert":
        return None
    from ragstream.retrieve.rerank_onnx import ColbertReranker

    return ColbertReranker().chunk_blobs


def fuse(ranking: Candidates, scores: Sequence[float], weight: float) -> Candidates:
    """First-stage ranking reordered by (1 - weight) * first + weight * reranker score.

    Both are min-max scaled over the reranked candidates: the reranker's scale (a logit,
    a MaxSim mean) says nothing about the first stage's, and pure replacement threw away
    what the first stage knew (it lost on FAQ English with the cross-encoder). Ties keep
    the first-stage order.
    """
    if not ranking:
        return []
    first = normalise([s for _, s in ranking], "minmax")
    second = normalise([float(s) for s in scores], "minmax")
    fused = [(1 - weight) * a + weight * b for a, b in zip(first, second, strict=True)]
    order = sorted(range(len(ranking)), key=lambda i: -fused[i])
    return [(ranking[i][0], fused[i]) for i in order]
