"""Copy an index (manifest, meta, chunks, vectors) between stores without re-embedding.

Document by document, one transaction each in the destination, so an interrupted copy
is finished by running it again: documents already in the destination with the same
content hash are skipped. Collections, members and local users (with their password
hashes) come along, so access stays as it was; the audit log stays with the source
(the destination's log records the copy's own grants, as actor "copy").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ragstream.errors import StoreError
from ragstream.index.store import Store
from ragstream.models import DocumentRecord

EMBEDDER_KEYS = ("embedder", "dim")


@dataclass
class CopyReport:
    documents: int = 0
    chunks: int = 0
    skipped: int = 0


def copy_store(
    source: Store,
    destination: Store,
    progress: Callable[[DocumentRecord], None] | None = None,
) -> CopyReport:
    """Copy meta, manifest, chunks and vectors from `source` into `destination`."""
    meta = source.get_meta()
    existing = destination.get_meta()
    for key in EMBEDDER_KEYS:
        if existing.get(key) and existing.get(key) != meta.get(key):
            raise StoreError(
                f"the destination was built with {existing.get('embedder')} "
                f"({existing.get('dim')}-d), the source with {meta.get('embedder')} "
                f"({meta.get('dim')}-d): copy into an empty database or workspace"
            )
    if meta:
        destination.set_meta(meta)
    _copy_access(source, destination)
    done = {(d.path, d.sha256, d.n_chunks) for d in destination.documents()}
    with destination.deferred_vector_index():
        return _copy_documents(source, destination, meta, done, progress)


def _copy_access(source: Store, destination: Store) -> None:
    have = {c.name for c in destination.collections()}
    for collection in source.collections():
        if collection.name not in have:
            destination.create_collection(collection.name, actor="copy")
    for m in source.members():
        destination.grant(m.collection, m.principal, m.role, actor="copy")
    users = {u.name for u in destination.users()}
    for user in source.users():
        secret = source.user_secret(user.name)
        if user.name not in users and secret is not None:
            destination.add_user(user.name, secret[0], secret[1], actor="copy")


def _copy_documents(
    source: Store,
    destination: Store,
    meta: dict[str, str],
    done: set[tuple[str, str, int]],
    progress: Callable[[DocumentRecord], None] | None,
) -> CopyReport:
    report = CopyReport()
    for record in source.documents():
        if (record.path, record.sha256, record.n_chunks) in done:
            report.skipped += 1
            continue
        ids = source.chunk_ids(record.path)
        chunks = source.chunks(ids)
        stored = source.vectors_for(ids)
        if len(chunks) != len(ids) or len(stored) != len(ids):
            raise StoreError(f"{record.path}: the source changed during the copy; run it again")
        dim = int(meta.get("dim", 0)) or (len(next(iter(stored.values()))) if stored else 0)
        vectors = (
            np.stack([stored[c.id] for c in chunks]) if chunks else np.zeros((0, dim), np.float32)
        )
        tokens = source.token_vectors_for(ids)  # ColBERT's, when the source stored them
        aligned = [tokens.get(c.id) for c in chunks] if tokens else None
        destination.replace_document(record, chunks, vectors, aligned)
        report.documents += 1
        report.chunks += len(chunks)
        if progress:
            progress(record)
    return report
