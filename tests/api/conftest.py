"""A real `ragstream api` process over a real (small) workspace, for the API tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from ragstream.api.tokens import TokenStore, tokens_file
from tests.api.server import (
    ApiServer,
    make_workspace,
    start_api,
)
from tests.app.serve_helpers import stop
from tests.generate.sse_server import ChatServer, start_server


@pytest.fixture(scope="module")
def api_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ApiServer]]:
    """Start servers (each on its own copy of the sample workspace); all stopped at the end."""
    servers: list[ApiServer] = []

    def make(env: Mapping[str, str] | None = None, tokens: bool = True) -> ApiServer:
        workspace = make_workspace(tmp_path_factory.mktemp("api"))
        if tokens:
            TokenStore(tokens_file(workspace)).create("bootstrap")
        server = start_api(workspace, env)
        servers.append(server)
        return server

    yield make
    for server in servers:
        stop(server.process)


@pytest.fixture(scope="module")
def chat_server() -> Iterator[ChatServer]:
    server = start_server()
    yield server
    server.shutdown()
    server.server_close()
