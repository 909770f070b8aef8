"""The API mounted inside another Starlette app on one port (as `ragstream serve`'s
gateway will): its routes and lifespan work, the host keeps every other path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ragstream.api.app import create_app, mount
from ragstream.api.tokens import TokenStore, tokens_file
from ragstream.config import load_settings
from ragstream.workspace import Workspace
from tests.api.server import make_workspace
from tests.app.serve_helpers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    workspace = make_workspace(tmp_path_factory.mktemp("mount"))
    tokens = TokenStore(tokens_file(workspace))
    token, _ = tokens.create("mounted")
    settings = load_settings({"workspace": workspace}, env={})

    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"host page {request.url.path}")

    host = Starlette(routes=[Route("/{path:path}", page)])
    mount(host, create_app(lambda: Workspace(settings), tokens))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield url, token
    server.should_exit = True
    thread.join(timeout=30)


def test_api_paths_reach_the_api_and_others_the_host(hosted: tuple[str, str]) -> None:
    url, token = hosted
    auth = {"authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=url, timeout=60) as http:
        assert http.get("/").text == "host page /"
        assert http.get("/some/page").text == "host page /some/page"
        assert http.get("/api/v1/health").json()["status"] == "ok"
        assert http.get("/api/v1/documents").status_code == 401  # the API's own auth
        hits = http.post("/api/v1/search", json={"query": "rotate the key"}, headers=auth)
        assert hits.status_code == 200 and hits.json()["hits"]
        assert http.get("/v1/models", headers=auth).json()["data"][0]["id"] == "ragstream"


def test_mcp_works_mounted(hosted: tuple[str, str]) -> None:
    url, token = hosted

    async def main() -> set[str]:
        headers = {"authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            return {t.name for t in (await client.list_tools()).tools}

    assert {"search", "ask", "list_documents", "get_passage"} <= anyio.run(main)


def test_workspace_is_closed_at_host_shutdown(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    opened: list[Workspace] = []

    def factory() -> Workspace:
        opened.append(Workspace(load_settings({"workspace": workspace}, env={})))
        return opened[-1]

    host = Starlette()
    api = create_app(factory, TokenStore(tokens_file(workspace)), allow_open=True)
    mount(host, api)

    async def main() -> None:
        async with host.router.lifespan_context(host):
            assert opened and opened[0]._store is not None  # warmed: index open

    anyio.run(main)
    assert opened[0]._store is None  # closed
