"""Collections and per-user access through the library, on both stores, with planted
secrets: a user can neither find, cite, prompt with, list nor remove a document outside
their collections by any route (modes, globs, guessed paths and collection names); role
changes apply at the next call; deleting a collection takes its chunks and vectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragstream.access import Identity
from ragstream.errors import AccessDenied
from ragstream.generate.events import Done, Sources
from ragstream.workspace import Workspace

SECRET = "ZORBLAX-4417"
FILES = {
    "hr/pay.txt": f"The chief executive salary is {SECRET} crowns a year. Salary reviews happen "
    "in March.",
    "eng/deploy.txt": "Deploys run every Tuesday. The salary of build robots is zero.",
    "eng/keys.txt": "Rotate the deploy key every ninety days. Nobody asks about salary here.",
    "eng/oncall.txt": "The on-call engineer answers pages within ten minutes; it adds to the salary.",
    "pub/canteen.txt": "The canteen serves soup at noon.",
}
ALICE = Identity("alice")  # viewer of eng
BOB = Identity("bob")  # editor of hr
CAROL = Identity("carol", groups=("devs",))  # eng through her group
DAVE = Identity("dave")  # no memberships


@pytest.fixture(params=["sqlite", "postgres"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    options: dict[str, object] = {"workspace": tmp_path / "ws", "password": "the-admin-pw-1"}
    if request.param == "postgres":
        options["database_url"] = request.getfixturevalue("postgres_url")
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    workspace = Workspace.open(**options)
    accounts = workspace.accounts
    for name in ("hr", "eng"):
        accounts.create_collection(name)
        workspace.ingest([tmp_path / name], collection=name)
    workspace.ingest([tmp_path / "pub"])
    accounts.add_user("alice", "alice-password")
    accounts.grant("eng", "alice", "viewer")
    accounts.grant("hr", "bob", "editor")
    accounts.grant("eng", "group:devs", "viewer")
    yield workspace
    workspace.close()


def paths(hits: list) -> set[str]:
    return {h.chunk.path for h in hits}


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_a_user_never_finds_what_is_outside_their_collections(ws: Workspace, mode: str) -> None:
    query = f"chief executive salary {SECRET}"
    assert "hr/pay.txt" in paths(ws.search(query, k=3, mode=mode))  # the admin finds it
    for who in (ALICE, CAROL):
        hits = ws.search(query, k=3, mode=mode, user=who)
        assert len(hits) == 3, "k results from the allowed collection, not fewer"
        assert paths(hits) <= {"eng/deploy.txt", "eng/keys.txt", "eng/oncall.txt"}
        assert not any(SECRET in h.chunk.text for h in hits)
        assert ws.search(query, mode=mode, path_glob="hr/*", user=who) == []
    assert ws.search(query, mode=mode, user=DAVE) == []


def test_asking_for_a_hidden_collection_is_refused_like_a_missing_one(ws: Workspace) -> None:
    errors = []
    for name in ("hr", "payroll-2031"):
        with pytest.raises(AccessDenied) as info:
            ws.search("salary", collections=[name], user=ALICE)
        errors.append(str(info.value).replace(name, "NAME"))
    assert errors[0] == errors[1]
    assert paths(ws.search("salary", collections=["hr"])) == {"hr/pay.txt"}
    assert paths(ws.search("salary", k=5, collections=["eng", "default"])) <= {
        "eng/deploy.txt", "eng/keys.txt", "eng/oncall.txt", "pub/canteen.txt"
    }  # fmt: skip


def test_answers_and_prompts_never_carry_hidden_text(ws: Workspace) -> None:
    question = "What is the chief executive salary in crowns?"
    events = list(ws.ask(question, offline=True, user=ALICE))
    sources = next(e for e in events if isinstance(e, Sources)).sources
    done = next(e for e in events if isinstance(e, Done))
    assert sources and all(s.path.startswith("eng/") for s in sources)
    assert SECRET not in done.answer and not any(SECRET in s.text for s in done.citations)
    assert SECRET not in ws.prompt(question, user=ALICE)
    admin_events = list(ws.ask(question, offline=True))
    assert any(
        SECRET in s.text for s in next(e for e in admin_events if isinstance(e, Done)).citations
    )


def test_documents_and_remove_by_guessed_path(ws: Workspace) -> None:
    assert {d.path for d in ws.documents(user=ALICE)} == {
        "eng/deploy.txt", "eng/keys.txt", "eng/oncall.txt"
    }  # fmt: skip
    assert ws.documents(user=DAVE) == []
    assert ws.document("hr/pay.txt", user=ALICE) is None  # e.g. a download route
    assert ws.document("eng/keys.txt", user=ALICE) is not None
    assert ws.document("hr/pay.txt", user=BOB) is not None
    [secret_id] = ws.store.chunk_ids("hr/pay.txt")
    assert ws.chunk(secret_id, user=ALICE) is None  # a guessed passage id
    assert ws.chunk(secret_id, user=BOB) is not None and ws.chunk("nope") is None
    assert ws.accounts.scoped(ALICE, ["hr", "eng"]) == ["eng"]  # an API token's scope
    assert ws.accounts.scoped(None, ["hr"]) == ["hr"] and ws.accounts.scoped(DAVE, None) == []
    assert ws.remove("hr/pay.txt", user=ALICE) is False  # a viewer, and not her collection
    assert ws.remove("eng/keys.txt", user=ALICE) is False  # a viewer may not remove
    assert ws.remove("eng/keys.txt", user=BOB) is False  # bob edits hr only
    assert len(ws.documents()) == 5
    assert ws.remove("hr/pay.txt", user=BOB) is True
    assert ws.search(SECRET, collections=["hr"]) == []
    entry = ws.accounts.audit_log()[-1]
    assert (entry.actor, entry.action, entry.target) == ("bob", "remove", "hr/pay.txt")


def test_role_changes_apply_at_the_next_call(ws: Workspace) -> None:
    assert "hr/pay.txt" not in paths(ws.search(SECRET, user=ALICE))
    ws.accounts.grant("hr", "alice", "viewer")
    assert "hr/pay.txt" in paths(ws.search(SECRET, user=ALICE))
    ws.accounts.revoke("hr", "alice")
    assert "hr/pay.txt" not in paths(ws.search(SECRET, user=ALICE))
    ws.accounts.revoke("eng", "group:devs")
    assert ws.search("deploy key", user=CAROL) == []


def test_ingest_needs_an_editor_and_cannot_take_another_collections_file(
    ws: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(AccessDenied, match="alice may not change documents in collection eng"):
        ws.ingest([tmp_path / "eng"], collection="eng", user=ALICE)
    # bob (editor of hr) ingests a folder holding a path that belongs to eng
    (tmp_path / "eng" / "keys.txt").write_text(f"overwritten by bob {SECRET}")
    report = ws.ingest([tmp_path / "eng" / "keys.txt"], collection="hr", user=BOB)
    assert [(f.path, f.status) for f in report.files] == [("eng/keys.txt", "failed")]
    assert {d.path: d.collection for d in ws.documents()}["eng/keys.txt"] == "eng"
    assert SECRET not in " ".join(h.chunk.text for h in ws.search("overwritten", user=ALICE))
    # the admin may move it; ingesting hr's folder never removes eng's documents
    ws.ingest([tmp_path / "eng" / "keys.txt"], collection="hr")
    assert {d.path: d.collection for d in ws.documents()}["eng/keys.txt"] == "hr"
    ws.ingest([tmp_path / "hr"], collection="hr", user=BOB)
    assert len(ws.documents()) == 5
    uploads = [e for e in ws.accounts.audit_log() if e.action == "upload"]
    assert (
        uploads[-1].actor,
        uploads[-1].target,
        uploads[-1].detail,
    ) == ("local", "eng/keys.txt", "hr")


def test_deleting_a_collection_removes_its_chunks_and_vectors(ws: Workspace) -> None:
    ids = ws.store.chunk_ids("hr/pay.txt")
    before = ws.store.count_chunks()
    with pytest.raises(AccessDenied):
        ws.accounts.delete_collection("hr", by=BOB)  # an editor, not an owner
    assert ws.accounts.delete_collection("hr") == 1
    assert ws.store.count_chunks() == before - len(ids)
    assert ws.store.vectors_for(ids) == {} and ws.store.chunks(ids) == []
    assert SECRET not in " ".join(h.chunk.text for h in ws.search(SECRET, k=10))
    assert [m.collection for m in ws.accounts.members()] == ["eng", "eng"]


def test_sign_in(ws: Workspace) -> None:
    accounts = ws.accounts
    assert accounts.login("alice", "alice-password") == Identity("alice")
    assert accounts.login("alice", "wrong-password") is None
    assert accounts.login("nobody", "alice-password") is None
    assert accounts.login(None, "the-admin-pw-1") == Identity("admin", admin=True)
    assert accounts.login("admin", "the-admin-pw-1") == Identity("admin", admin=True)
    assert accounts.login(None, "wrong") is None
    accounts.add_user("root@example.com", "root-password", admin=True)
    assert accounts.identity("root@example.com").admin
    assert accounts.identity("oidc-user@example.com", ["devs"]).groups == ("devs",)
    with pytest.raises(AccessDenied, match="only an admin"):
        accounts.add_user("eve", "eve-password", by=ALICE)
    assert [c.name for c in accounts.collections(ALICE)] == ["eng"]
    assert not any(
        "password" in e.detail or "alice-password" in e.target for e in accounts.audit_log()
    )
