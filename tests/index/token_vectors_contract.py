"""ColBERT token vectors beside the chunks, the same in every store: written in the
chunk's transaction, read back byte for byte, gone with the chunk however it goes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ragstream.errors import StoreError
from ragstream.index.store import Store
from ragstream.retrieve import colbert_codec
from tests.index.store_contract import make_doc


def blob(seed: int, tokens: int = 5) -> bytes:
    vectors = np.random.default_rng(seed).standard_normal((tokens, 16)).astype(np.float32)
    return colbert_codec.encode(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


class TokenVectorsContract:
    def test_token_vectors_round_trip_and_chunks_without_have_none(self, store: Store) -> None:
        record, chunks, vectors = make_doc("a.md", ["one", "two", "three"])
        blobs = [blob(1), None, blob(3, tokens=300)]
        store.replace_document(record, chunks, vectors, blobs)
        found = store.token_vectors_for([c.id for c in chunks] + ["missing"])
        assert found == {chunks[0].id: blobs[0], chunks[2].id: blobs[2]}
        assert colbert_codec.decode(found[chunks[2].id]).shape == (300, 16)
        # a document stored without any (another reranker) has none
        store.replace_document(*make_doc("b.md", ["four"]))
        assert store.token_vectors_for(store.chunk_ids("b.md")) == {}

    def test_replacing_removing_and_deleting_a_collection_remove_them(self, store: Store) -> None:
        record, chunks, vectors = make_doc("a.md", ["one", "two"])
        store.replace_document(record, chunks, vectors, [blob(1), blob(2)])
        # the new version keeps chunk "one" (same id, new blob) and drops "two"
        record2, chunks2, vectors2 = make_doc("a.md", ["one", "changed"], seed=1)
        store.replace_document(record2, chunks2, vectors2, [blob(5), None])
        assert store.token_vectors_for([c.id for c in chunks + chunks2]) == {chunks2[0].id: blob(5)}
        assert store.remove_document("a.md")
        assert store.token_vectors_for([chunks2[0].id]) == {}

        store.create_collection("team")
        record, chunks, vectors = make_doc("t.md", ["team text"])
        store.replace_document(replace(record, collection="team"), chunks, vectors, [blob(7)])
        assert store.token_vectors_for([chunks[0].id])
        store.delete_collection("team")
        assert store.token_vectors_for([chunks[0].id]) == {}

    def test_misaligned_token_vectors_change_nothing(self, store: Store) -> None:
        record, chunks, vectors = make_doc("a.md", ["one", "two"])
        with pytest.raises(StoreError, match=r"a\.md: got 1 token vector sets for 2 chunks"):
            store.replace_document(record, chunks, vectors, [blob(1)])
        assert store.documents() == [] and store.token_vectors_for([c.id for c in chunks]) == {}
