"""The store interface: chunks, vectors, the manifest, and two kinds of candidate search.

A store returns *candidates* (ranked id lists from keyword and dense search); fusing
them is the retriever's job (`ragstream.retrieve.fusion`), so every store ranks the same
data the same way. `replace_document` is atomic: a reader sees a document's old chunks
or its new ones, never a mix, and a crash mid-ingest leaves the previous state.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np

from ragstream.errors import StoreError
from ragstream.models import Chunk, DocumentRecord

Candidates = list[tuple[str, float]]  # (chunk id, score), best first
# The Chunk fields, in the order Chunk(*row) takes them, as both stores select them.
CHUNK_COLUMNS = (
    'id, path, text, ordinal, page, title, section_index, start, "end", n_tokens, '
    "line_start, line_end"
)


class Store(Protocol):
    @property
    def where(self) -> str:
        """Where the index lives, for messages (a database URL has its password masked)."""
        ...

    def get_meta(self) -> dict[str, str]:
        """Index-level facts, e.g. {"embedder": name, "dim": "384"}; empty when new."""
        ...

    def set_meta(self, meta: dict[str, str]) -> None: ...

    def documents(self) -> list[DocumentRecord]: ...

    def replace_document(
        self, doc: DocumentRecord, chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> None:
        """Atomically make `chunks` (with `vectors`, row-aligned) the whole of `doc.path`."""
        ...

    def remove_document(self, path: str) -> bool: ...

    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the ids that exist: lets a changed file reuse unchanged chunks."""
        ...

    def keyword_search(self, query: str, k: int, path_glob: str | None = None) -> Candidates: ...

    def dense_search(
        self, vector: np.ndarray, k: int, path_glob: str | None = None
    ) -> Candidates: ...

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids, in the order given (missing ids are left out)."""
        ...

    def chunk_ids(self, path: str) -> list[str]:
        """The ids of one document's chunks, in order."""
        ...

    def count_chunks(self) -> int: ...

    def deferred_vector_index(self) -> AbstractContextManager[None]:
        """A bulk load into an empty index: build any vector index once, at the end."""
        ...

    def close(self) -> None: ...


def checked_vectors(
    path: str, chunks: Sequence[Chunk], vectors: np.ndarray, dim: int | None
) -> np.ndarray:
    """`vectors` as contiguous float32, after checking they fit `chunks` and the index."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
        raise StoreError(
            f"{path}: got {vectors.shape[0] if vectors.ndim else 0} vectors "
            f"for {len(chunks)} chunks; they must be row-aligned"
        )
    if chunks and dim is not None and vectors.shape[1] != dim:
        raise StoreError(
            f"{path}: vectors have dimension {vectors.shape[1]} but the index holds "
            f"{dim}; re-create the index to change embedders"
        )
    return vectors
