"""Copy an index (manifest, meta, chunks, vectors) between stores without re-embedding.

Document by document, one transaction each in the destination, so an interrupted copy
is finished by running it again: documents already in the destination with the same
content hash are skipped.
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
    done = {(d.path, d.sha256, d.n_chunks) for d in destination.documents()}
    with destination.deferred_vector_index():
        return _copy_documents(source, destination, meta, done, progress)


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
        destination.replace_document(record, chunks, vectors)
        report.documents += 1
        report.chunks += len(chunks)
        if progress:
            progress(record)
    return report
