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
from ragstream.retrieve.rerank import Reranker, fuse


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
        rerank_weight: float = 0.5,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.fusion = fusion
        self.depth = depth
        self.rerank_depth = rerank_depth
        self.rerank_weight = rerank_weight
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
        rerank: bool = True,
    ) -> list[Hit]:
        """Top-k hits from `collections` (None: all); with a reranker set (and `rerank`),
        the top `rerank_depth` fused hits are rescored and fused with their first-stage
        score (`rerank.fuse`).

        Each hit carries the raw score of every stage that saw it (`Hit.scores`: dense
        cosine, BM25, the reranker's), which abstention reads (`retrieve.abstain`)."""
        lists = self.candidates(query, mode, max(self.depth, k), path_glob, collections)
        if not lists:
            return []
        ranked = self.rank(lists)
        reranker = self.reranker if rerank else None
        keep = max(k, self.rerank_depth) if reranker else k
        top = ranked[:keep]
        chunks = {c.id: c for c in self.store.chunks([cid for cid, _ in top])}
        positions = {
            name: {cid: (rank, score) for rank, (cid, score) in enumerate(cands, start=1)}
            for name, cands in lists.items()
        }
        hits = [
            Hit(
                chunk=chunks[cid],
                score=score,
                ranks={name: pos[cid][0] for name, pos in positions.items() if cid in pos},
                scores={name: pos[cid][1] for name, pos in positions.items() if cid in pos},
            )
            for cid, score in top
            if cid in chunks  # a chunk removed between the two reads is skipped
        ]
        if reranker and hits:
            hits = (
                self._rerank(reranker, query, hits[: self.rerank_depth]) + hits[self.rerank_depth :]
            )
        return hits[:k]

    def _rerank(self, reranker: Reranker, query: str, hits: list[Hit]) -> list[Hit]:
        scores = reranker.rerank(query, [h.chunk for h in hits])
        name = getattr(reranker, "name", "rerank")
        fused = fuse(
            [(str(i), h.score) for i, h in enumerate(hits)], scores, self.rerank_weight
        )  # ids are positions here: the order is all fuse needs
        return [
            Hit(
                hits[int(i)].chunk,
                score,
                {**hits[int(i)].ranks, "fused": int(i) + 1},
                {**hits[int(i)].scores, name: float(scores[int(i)])},
            )
            for i, score in fused
        ]
