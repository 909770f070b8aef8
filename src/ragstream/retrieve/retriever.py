"""The retriever: keyword and dense candidates from the store, fused, optionally reranked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from ragstream.config import RETRIEVAL_MODES
from ragstream.errors import ConfigError
from ragstream.index.embedder import Embedder
from ragstream.index.store import Store
from ragstream.models import Hit
from ragstream.retrieve.fusion import DEFAULT_FUSION, Candidates, FusionFn
from ragstream.retrieve.rerank import Reranker


class Retriever:
    """`search(query, k, mode)` over one store; "hybrid" fuses BM25 and dense candidates.

    Each retriever contributes its top `depth` candidates (deeper than k, so fusion can
    lift a chunk one retriever ranked low); a reranker, when set, reorders the top
    `rerank_depth` fused hits. In hybrid mode the keyword search runs on a worker thread
    while the query is embedded (both release the GIL), so the store must accept calls
    from two threads at once.
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        reranker: Reranker | None = None,
        fusion: FusionFn = DEFAULT_FUSION,
        depth: int = 50,
        rerank_depth: int = 20,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.fusion = fusion
        self.depth = depth
        self.rerank_depth = rerank_depth
        self._worker: ThreadPoolExecutor | None = None

    def candidates(
        self,
        query: str,
        mode: str = "hybrid",
        depth: int | None = None,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> dict[str, Candidates]:
        """Ranked (id, score) lists per retriever that `mode` uses; `collections` (None:
        all) is filtered by the store inside each search, before its top-k cut."""
        if mode not in RETRIEVAL_MODES:
            raise ConfigError(f"mode={mode!r} is not one of {', '.join(RETRIEVAL_MODES)}")
        depth = depth or self.depth
        if not query.strip():
            return {}
        if mode == "bm25":
            return {"bm25": self.store.keyword_search(query, depth, path_glob, collections)}
        if mode == "dense":
            return {"dense": self._dense(query, depth, path_glob, collections)}
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="ragstream-bm25")
        keyword = self._worker.submit(
            self.store.keyword_search, query, depth, path_glob, collections
        )
        dense = self._dense(query, depth, path_glob, collections)
        return {"bm25": keyword.result(), "dense": dense}

    def _dense(
        self, query: str, depth: int, path_glob: str | None, collections: Sequence[str] | None
    ) -> Candidates:
        vector = self.embedder.embed_query(query)
        return self.store.dense_search(vector, depth, path_glob, collections)

    def rank(self, lists: Mapping[str, Candidates]) -> Candidates:
        """One ranking from the candidate lists: the single list as is, else fused."""
        if len(lists) == 1:
            return next(iter(lists.values()))
        return self.fusion(lists)

    def search(
        self,
        query: str,
        k: int = 5,
        mode: str = "hybrid",
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> list[Hit]:
        lists = self.candidates(query, mode, max(self.depth, k), path_glob, collections)
        if not lists:
            return []
        ranked = self.rank(lists)
        keep = max(k, self.rerank_depth) if self.reranker else k
        top = ranked[:keep]
        chunks = {c.id: c for c in self.store.chunks([cid for cid, _ in top])}
        positions = {
            name: {cid: rank for rank, (cid, _) in enumerate(cands, start=1)}
            for name, cands in lists.items()
        }
        hits = [
            Hit(
                chunk=chunks[cid],
                score=score,
                ranks={name: pos[cid] for name, pos in positions.items() if cid in pos},
            )
            for cid, score in top
            if cid in chunks  # a chunk removed between the two reads is skipped
        ]
        if self.reranker and hits:
            hits = self._rerank(query, hits)
        return hits[:k]

    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        assert self.reranker is not None
        scores = self.reranker.rerank(query, [h.chunk for h in hits])
        order = sorted(range(len(hits)), key=lambda i: -scores[i])  # stable: ties keep fusion order
        return [
            Hit(hits[i].chunk, float(scores[i]), {**hits[i].ranks, "fused": i + 1}) for i in order
        ]
