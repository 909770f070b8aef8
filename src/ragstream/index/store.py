"""The store interface: chunks, vectors, the manifest, and two kinds of candidate search.

A store returns *candidates* (ranked id lists from keyword and dense search); fusing
them is the retriever's job (`ragstream.retrieve.fusion`), so every store ranks the same
data the same way. `replace_document` is atomic: a reader sees a document's old chunks
or its new ones, never a mix, and a crash mid-ingest leaves the previous state.

Every document belongs to one collection (`DocumentRecord.collection`). Reads that take
`collections` see only those (None: all; an empty list: nothing), inside the store's
query, before any top-k cut, so a reader of one small collection still gets k results.
The access tables (collections, members, users, audit) are in index/access_tables.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np

from ragstream.errors import StoreError
from ragstream.models import (
    AuditEntry,
    Chunk,
    CollectionInfo,
    DocumentRecord,
    Membership,
    UserRecord,
)

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

    def documents(self, collections: Sequence[str] | None = None) -> list[DocumentRecord]: ...

    def replace_document(
        self,
        doc: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        token_vectors: Sequence[bytes | None] | None = None,
    ) -> None:
        """Atomically make `chunks` (with `vectors`, row-aligned) the whole of `doc.path`.

        `token_vectors` (aligned too; None where a chunk has none) are ColBERT passage
        vectors (retrieve/colbert_codec.py), stored beside the chunks in the same
        transaction and deleted with them."""
        ...

    def remove_document(self, path: str, collections: Sequence[str] | None = None) -> bool:
        """Remove `path` if it exists in one of `collections` (None: in any)."""
        ...

    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the ids that exist: lets a changed file reuse unchanged chunks."""
        ...

    def token_vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        """Stored ColBERT token vectors of the ids that have them (reranking, reuse)."""
        ...

    def keyword_search(
        self,
        query: str,
        k: int,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
    ) -> Candidates: ...

    def dense_search(
        self,
        vector: np.ndarray,
        k: int,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
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

    # --- collections, members, users, audit (index/access_tables.py) ----------------
    def collections(self) -> list[CollectionInfo]: ...
    def collection_exists(self, name: str) -> bool: ...
    def create_collection(self, name: str, actor: str = "local") -> None: ...
    def rename_collection(self, old: str, new: str, actor: str = "local") -> None: ...
    def delete_collection(self, name: str, actor: str = "local") -> int:
        """Delete it with its documents, chunks and vectors; returns the documents removed."""
        ...

    def grant(self, collection: str, member: str, role: str, actor: str = "local") -> None: ...
    def revoke(self, collection: str, member: str, actor: str = "local") -> bool: ...
    def members(self, collection: str | None = None) -> list[Membership]: ...
    def memberships_of(self, principals: Sequence[str]) -> list[Membership]: ...
    def add_user(
        self, name: str, password_hash: str, admin: bool = False, actor: str = "local"
    ) -> None: ...
    def set_password(self, name: str, password_hash: str, actor: str = "local") -> bool: ...
    def remove_user(self, name: str, actor: str = "local") -> bool: ...
    def users(self) -> list[UserRecord]: ...
    def user_secret(self, name: str) -> tuple[str, bool] | None: ...
    def append_audit(
        self, actor: str, action: str, targets: str | Sequence[str], detail: str = ""
    ) -> None: ...
    def audit_log(self, limit: int = 100) -> list[AuditEntry]: ...


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


def checked_token_vectors(
    path: str, chunks: Sequence[Chunk], token_vectors: Sequence[bytes | None] | None
) -> list[tuple[str, bytes]]:
    """(chunk id, blob) rows to store, after checking `token_vectors` fit `chunks`."""
    if token_vectors is None:
        return []
    if len(token_vectors) != len(chunks):
        raise StoreError(
            f"{path}: got {len(token_vectors)} token vector sets for {len(chunks)} chunks; "
            "they must be aligned"
        )
    return [(c.id, bytes(b)) for c, b in zip(chunks, token_vectors, strict=True) if b is not None]
