"""Reranking: an optional second pass that rescores the top fused hits. Off by default.

No cross-encoder weights ship with RAGstream, so the one implementation asks an
OpenAI-compatible chat model (`reranker = "openai:<model>"`) to grade each passage 0-10.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Protocol

from ragstream.config import Settings
from ragstream.errors import ConfigError, GenerationError
from ragstream.models import Chunk
from ragstream.openai_client import Endpoint, explain, openai_client

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


def create_reranker(settings: Settings) -> Reranker | None:
    """None unless `settings.reranker` names one ("openai:<model>")."""
    spec = settings.reranker
    if not spec:
        return None
    if not spec.startswith("openai:") or not spec.removeprefix("openai:"):
        raise ConfigError(f"reranker={spec!r}: use 'openai:<model>' or leave it unset")
    if not settings.openai_api_key and not settings.openai_base_url:
        raise ConfigError(
            f"reranker={spec}: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)"
        )
    return OpenAIReranker(spec.removeprefix("openai:"), Endpoint.of(settings))
