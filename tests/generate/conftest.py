from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.generate.sse_server import ChatServer, start_server


@pytest.fixture(scope="session")
def chat_server_session() -> Iterator[ChatServer]:
    server = start_server()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def chat_server(chat_server_session: ChatServer) -> ChatServer:
    chat_server_session.script()  # a clean script and request log for each test
    return chat_server_session
