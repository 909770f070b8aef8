"""Collections, members, users and the audit log: behaviour both stores share.

Each backend's test class mixes it in beside `StoreContract` (SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ragstream.errors import AccessDenied, ConfigError, StoreError
from ragstream.index.store import Store
from tests.index.store_contract import DIM, StoreFactory, make_doc, unit


def _in(store: Store, record_chunks_vectors: tuple, collection: str) -> None:
    record, chunks, vectors = record_chunks_vectors
    store.replace_document(replace(record, collection=collection), chunks, vectors)


def _near(query: np.ndarray, seed: int, closeness: float) -> np.ndarray:
    v = closeness * query + (1 - closeness) * unit(seed)
    return (v / np.linalg.norm(v)).astype(np.float32)


class AccessContract:
    @pytest.fixture
    def two(self, store: Store) -> Store:
        """`big`: 40 chunks near the query; `small`: 6 chunks far from it (all say 'gear')."""
        store.create_collection("big")
        store.create_collection("small")
        query = unit(99)
        for d in range(8):
            record, chunks, _ = make_doc(f"big/{d}.md", [f"gear big {d} {i}" for i in range(5)])
            vectors = np.stack([_near(query, 100 * d + i, 0.9) for i in range(5)])
            _in(store, (record, chunks, vectors), "big")
        for d in range(2):
            record, chunks, _ = make_doc(f"small/{d}.md", [f"gear small {d} {i}" for i in range(3)])
            vectors = np.stack([_near(-query, 500 + 10 * d + i, 0.5) for i in range(3)])
            _in(store, (record, chunks, vectors), "small")
        return store

    def test_a_new_store_has_the_default_collection(self, store: Store) -> None:
        store.replace_document(*make_doc("a.md", ["alpha"]))
        [info] = store.collections()
        assert (info.name, info.documents, info.chunks) == ("default", 1, 1)
        assert store.documents()[0].collection == "default"

    def test_filter_applies_before_the_top_k_cut(self, two: Store) -> None:
        dense = two.dense_search(unit(99), 5, collections=["small"])
        keyword = two.keyword_search("gear", 5, collections=["small"])
        for hits in (dense, keyword):
            assert len(hits) == 5
            assert {c.path.split("/")[0] for c in two.chunks([i for i, _ in hits])} == {"small"}
        unfiltered = two.dense_search(unit(99), 5)
        assert {c.path.split("/")[0] for c in two.chunks([i for i, _ in unfiltered])} == {"big"}
        both = two.dense_search(unit(99), 100, collections=["small", "big"])
        assert len(both) == 46

    def test_filter_combines_with_a_path_glob(self, two: Store) -> None:
        hits = two.keyword_search("gear", 50, path_glob="small/1*", collections=["small", "big"])
        assert {c.path for c in two.chunks([i for i, _ in hits])} == {"small/1.md"}
        assert two.dense_search(unit(1), 50, path_glob="big/*", collections=["small"]) == []

    def test_no_collections_means_nothing_not_everything(self, two: Store) -> None:
        assert two.dense_search(unit(99), 5, collections=[]) == []
        assert two.keyword_search("gear", 5, collections=[]) == []
        assert two.documents(collections=[]) == []
        assert two.dense_search(unit(99), 5, collections=["nonexistent"]) == []

    def test_documents_and_remove_respect_collections(self, two: Store) -> None:
        assert {d.path for d in two.documents(collections=["small"])} == {
            "small/0.md",
            "small/1.md",
        }
        assert two.remove_document("big/0.md", collections=["small"]) is False
        assert "big/0.md" in {d.path for d in two.documents()}
        assert two.keyword_search("gear big 0", 50, collections=["big"])
        assert two.remove_document("big/0.md", collections=["big"]) is True
        assert two.count_chunks() == 41

    def test_delete_collection_removes_its_chunks_and_vectors(self, two: Store) -> None:
        _, small_chunks, _ = make_doc("small/0.md", [f"gear small 0 {i}" for i in range(3)])
        assert two.delete_collection("small") == 2
        assert [c.name for c in two.collections()] == ["big", "default"]
        assert two.count_chunks() == 40
        assert two.vectors_for([c.id for c in small_chunks]) == {}
        assert two.keyword_search("small", 50) == []
        hits = two.dense_search(-unit(99), 100)
        assert len(hits) == 40 and not any(cid.startswith("small/") for cid, _ in hits)
        with pytest.raises(AccessDenied, match="no collection small"):
            two.delete_collection("small")
        with pytest.raises(ConfigError, match="default"):
            two.delete_collection("default")

    def test_rename_moves_documents_chunks_and_members(self, two: Store) -> None:
        two.grant("small", "alice", "viewer")
        two.rename_collection("small", "tiny")
        assert len(two.keyword_search("gear", 50, collections=["tiny"])) == 6
        assert two.keyword_search("gear", 50, collections=["small"]) == []
        assert len(two.dense_search(unit(3), 50, collections=["tiny"])) == 6
        assert {d.collection for d in two.documents() if d.path.startswith("small/")} == {"tiny"}
        assert [(m.collection, m.principal) for m in two.members()] == [("tiny", "user:alice")]
        with pytest.raises(ConfigError, match="already exists"):
            two.rename_collection("tiny", "big")

    def test_create_refuses_bad_and_existing_names(self, store: Store) -> None:
        with pytest.raises(ConfigError, match="not allowed"):
            store.create_collection("../etc")
        with pytest.raises(ConfigError, match="already exists"):
            store.create_collection("default")

    def test_members_grant_revoke(self, two: Store) -> None:
        two.grant("small", "alice", "viewer")
        two.grant("small", "alice", "editor")  # a second grant changes the role
        two.grant("big", "group:devs", "owner")
        assert [(m.collection, m.principal, m.role) for m in two.members()] == [
            ("big", "group:devs", "owner"),
            ("small", "user:alice", "editor"),
        ]
        found = two.memberships_of(["user:alice", "group:devs"])
        assert sorted(m.collection for m in found) == ["big", "small"]
        assert two.revoke("small", "alice") is True
        assert two.revoke("small", "alice") is False
        with pytest.raises(ConfigError, match="role"):
            two.grant("small", "bob", "god")
        with pytest.raises(AccessDenied):
            two.grant("nope", "bob", "viewer")

    def test_users(self, store: Store) -> None:
        store.add_user("alice", "scrypt$hash", admin=False)
        store.add_user("root@example.com", "scrypt$h2", admin=True)
        assert [(u.name, u.admin) for u in store.users()] == [
            ("alice", False),
            ("root@example.com", True),
        ]
        assert store.user_secret("alice") == ("scrypt$hash", False)
        with pytest.raises(ConfigError, match="already exists"):
            store.add_user("alice", "x")
        store.create_collection("c")
        store.grant("c", "alice", "viewer")
        assert store.remove_user("alice") is True
        assert store.user_secret("alice") is None
        assert store.members("c") == []  # her memberships went with her

    def test_audit_log_is_append_only(self, store: Store, store_factory: StoreFactory) -> None:
        store.create_collection("c")
        store.grant("c", "alice", "viewer", actor="admin")
        store.append_audit("alice", "upload", "c:a.md")
        log = store_factory().audit_log()
        assert [(e.actor, e.action, e.target) for e in log] == [
            ("local", "collection.create", "c"),
            ("admin", "grant", "c"),
            ("alice", "upload", "c:a.md"),
        ]
        assert log[1].detail == "user:alice viewer"
        for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
            with pytest.raises(StoreError, match="append-only"):
                store._access_write([(sql, ())], "tampering")  # type: ignore[attr-defined]
        assert len(store.audit_log()) == 3
        assert store.dense_search(unit(1, DIM), 1) == []
