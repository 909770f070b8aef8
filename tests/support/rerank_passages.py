"""Four passages and the question each answers: what the reranker tests score."""

from __future__ import annotations

from ragstream.models import Chunk

PASSAGES = [
    "Boil the pasta in salted water for nine minutes, then drain it.",
    "To roll back a release, run `ragstream deploy rollback`; the previous image starts again.",
    "Paris is the capital and largest city of France.",
    "Rotate the OpenAI key with `ragstream deploy secret set`; the service restarts.",
]
QUESTIONS = {
    "How do I roll back a release?": 1,
    "What is the capital of France?": 2,
    "how long should pasta cook": 0,
    "How do I change the API key?": 3,
}


def chunks() -> list[Chunk]:
    return [Chunk(id=str(i), path=f"d{i}.md", text=t, ordinal=0) for i, t in enumerate(PASSAGES)]
