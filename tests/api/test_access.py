"""Tokens that belong to a user, against a real `ragstream api`, with a planted secret in
collection hr: a token of a user without access to hr (or limited to other collections)
never finds, cites, gets the passage of, lists or deletes an hr document through REST,
/v1 or MCP; guessed ids and paths get 404; asking for hr by name gets 403; uploads need
an editor of the target collection. A grant applies at the next request."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ragstream.api.tokens import TokenStore, tokens_file
from ragstream.workspace import Workspace
from tests.api.server import ApiServer, make_workspace, start_api
from tests.app.serve_helpers import stop

pytestmark = pytest.mark.slow
SECRET = "ZORBLAX-4417"
PAY = "hr/pay.txt"
QUERY = "chief executive salary crowns a year"  # no secret in it: responses echo it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp("access")
    workspace = make_workspace(root)  # the samples, in collection default
    (root / "hr").mkdir()
    (root / PAY).write_text(
        f"The chief executive salary is {SECRET} crowns a year. Reviews happen in March.",
        encoding="utf-8",
    )
    with Workspace.open(workspace=workspace) as ws:
        ws.accounts.create_collection("hr")
        ws.ingest([root / "hr"], collection="hr")
        ws.accounts.grant("default", "alice", "viewer")
        ws.accounts.grant("default", "bob", "viewer")
        ws.accounts.grant("hr", "bob", "editor")
    api = start_api(workspace)
    yield api
    stop(api.process)


def token(server: ApiServer, name: str, **kwargs: Any) -> str:
    secret, _ = TokenStore(tokens_file(server.workspace)).create(name, **kwargs)
    return secret


@pytest.fixture(scope="module")
def tokens(server: ApiServer) -> dict[str, str]:
    return {
        "admin": token(server, "admin"),
        "alice": token(server, "alice", user="alice"),
        "bob": token(server, "bob", user="bob"),
        "bob-default": token(server, "bob-default", user="bob", collections=["default"]),
        "alice-read": token(server, "alice-read", scope="read", user="alice"),
    }


def search(server: ApiServer, secret: str, **body: Any) -> httpx2.Response:
    with server.client(secret) as http:
        return http.post("/api/v1/search", json={"query": QUERY, "k": 5, **body})


def found(response: httpx2.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {h["path"] for h in response.json()["hits"]}


def pay_chunk(server: ApiServer, tokens: dict[str, str]) -> str:
    hits = search(server, tokens["admin"], mode="bm25").json()["hits"]
    return next(h["chunk_id"] for h in hits if h["path"] == PAY)


def test_admin_and_an_hr_member_find_the_secret(server: ApiServer, tokens: dict[str, str]) -> None:
    assert PAY in found(search(server, tokens["admin"]))
    assert PAY in found(search(server, tokens["bob"], collection="hr"))


@pytest.mark.parametrize("who", ["alice", "bob-default"])
@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_rest_search_never_finds_hr_for_a_token_without_it(
    server: ApiServer, tokens: dict[str, str], who: str, mode: str
) -> None:
    response = search(server, tokens[who], mode=mode)
    assert PAY not in found(response) and SECRET not in response.text
    assert found(search(server, tokens[who], mode=mode, path="hr/*")) == set()


@pytest.mark.parametrize("who", ["alice", "bob-default"])
def test_naming_hr_is_403_like_a_missing_collection(
    server: ApiServer, tokens: dict[str, str], who: str
) -> None:
    bodies = []
    for name in ("hr", "payroll-2031"):
        response = search(server, tokens[who], collection=name)
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "forbidden"
        bodies.append(error["message"].replace(name, "NAME"))
    assert bodies[0] == bodies[1]


def test_rest_and_openai_answers_never_cite_hr(server: ApiServer, tokens: dict[str, str]) -> None:
    with server.client(tokens["alice"]) as http:
        answer = http.post("/api/v1/ask", json={"question": QUERY, "offline": True})
        assert answer.status_code == 200  # an abstention or the samples, never hr
        assert SECRET not in answer.text and PAY not in answer.text
        streamed = http.post("/api/v1/ask", json={"question": QUERY, "stream": True})
        assert streamed.status_code == 200 and "event: done" in streamed.text
        assert SECRET not in streamed.text and PAY not in streamed.text
        chat = http.post(
            "/v1/chat/completions",
            json={"model": "ragstream", "messages": [{"role": "user", "content": QUERY}]},
        )
        assert chat.status_code == 200
        assert SECRET not in chat.text and PAY not in chat.text
        denied = http.post("/api/v1/ask", json={"question": QUERY, "collection": "hr"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    with server.client(tokens["admin"]) as http:  # the same question does reach the secret
        assert SECRET in http.post("/api/v1/ask", json={"question": QUERY}).text


def test_listing_and_deleting_hide_hr(server: ApiServer, tokens: dict[str, str]) -> None:
    for who in ("alice", "bob-default"):
        with server.client(tokens[who]) as http:
            listed = http.get("/api/v1/documents").json()["documents"]
            assert listed and PAY not in {d["path"] for d in listed}
            for guess in (PAY, "hr/nope.txt"):
                gone = http.delete(f"/api/v1/documents/{guess}")
                assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    with server.client(tokens["admin"]) as http:
        assert PAY in {d["path"] for d in http.get("/api/v1/documents").json()["documents"]}


def test_uploads_need_an_editor_of_the_collection_within_the_token(
    server: ApiServer, tokens: dict[str, str]
) -> None:
    note = {"file": ("memo.txt", b"The hr memo says hello.", "text/plain")}
    for who, collection in (("alice", "hr"), ("alice", "default"), ("bob-default", "hr")):
        with server.client(tokens[who]) as http:
            refused = http.post("/api/v1/documents", files=note, data={"collection": collection})
            assert refused.status_code == 403, (who, collection, refused.text)
            assert refused.json()["error"]["code"] == "forbidden"
    with server.client(tokens["bob"]) as http:
        done = http.post("/api/v1/documents", files=note, data={"collection": "hr"})
        assert done.status_code == 200, done.text
        path = done.json()["files"][0]["path"]
        assert done.json()["files"][0]["status"] == "ingested"
        assert path in {d["path"] for d in http.get("/api/v1/documents").json()["documents"]}
    with server.client(tokens["alice"]) as http:  # in hr: alice cannot see or delete it
        assert http.delete(f"/api/v1/documents/{path}").status_code == 404
    with server.client(tokens["bob"]) as http:
        assert http.delete(f"/api/v1/documents/{path}").status_code == 200


def mcp_calls(server: ApiServer, secret: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    results: list[Any] = []

    async def main() -> None:
        headers = {"authorization": f"Bearer {secret}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
            async with Client(transport) as client:
                for name, arguments in calls:
                    results.append(await client.call_tool(name, arguments))

    anyio.run(main)
    return results


def test_mcp_tools_never_reveal_hr(server: ApiServer, tokens: dict[str, str]) -> None:
    chunk_id = pay_chunk(server, tokens)
    calls = [
        ("search", {"query": QUERY, "k": 5}),
        ("ask", {"question": QUERY}),
        ("list_documents", {}),
        ("get_passage", {"chunk_id": chunk_id}),
        ("search", {"query": QUERY, "collection": "hr"}),
    ]
    for who in ("alice", "bob-default"):
        hits, answer, docs, passage, named = mcp_calls(server, tokens[who], calls)
        for result in (hits, answer, docs):
            assert not result.is_error
            text = json.dumps(result.model_dump())
            assert SECRET not in text and PAY not in text
        assert passage.is_error and "no passage" in json.dumps(passage.model_dump())
        assert SECRET not in json.dumps(passage.model_dump())
        assert named.is_error and "may not read" in json.dumps(named.model_dump())
    (own,) = mcp_calls(server, tokens["bob"], [("get_passage", {"chunk_id": chunk_id})])
    assert not own.is_error and SECRET in json.dumps(own.model_dump())


def test_a_grant_applies_at_the_next_request(server: ApiServer, tokens: dict[str, str]) -> None:
    assert PAY not in found(search(server, tokens["alice-read"], mode="bm25"))
    with Workspace.open(workspace=server.workspace) as ws:
        ws.accounts.grant("hr", "alice", "viewer")
    try:
        assert PAY in found(search(server, tokens["alice-read"], mode="bm25"))
        with server.client(tokens["alice-read"]) as http:  # a read-only token still may not
            assert http.delete(f"/api/v1/documents/{PAY}").status_code == 403
    finally:
        with Workspace.open(workspace=server.workspace) as ws:
            ws.accounts.revoke("hr", "alice")
    assert PAY not in found(search(server, tokens["alice-read"], mode="bm25"))


def test_tokens_without_a_user_still_act_as_the_admin(
    server: ApiServer, tokens: dict[str, str]
) -> None:
    scoped: Callable[..., str] = token
    hr_only = scoped(server, "admin-hr", collections=["hr"])
    assert found(search(server, hr_only)) == {PAY}
    assert search(server, hr_only, collection="default").status_code == 403
