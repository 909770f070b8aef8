"""Forwarding to the Streamlit behind the gateway: HTTP (streamed both ways) and WebSocket.

Bodies are streamed, never buffered, so an upload costs the gateway one chunk at a time.
Hop-by-hop headers stay on their hop; the identity header is set by the gateway alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import httpx2
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from ragstream.auth import USER_HEADER

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        USER_HEADER,
    }
)
# Headers the websockets client sets itself for the upstream handshake.
WS_OWN = frozenset({"host", "sec-websocket-key", "sec-websocket-version"})
WS_OWN |= {"sec-websocket-extensions", "sec-websocket-protocol"}


def forward_headers(
    request_headers: list[tuple[str, str]], user: str | None
) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request_headers if k.lower() not in HOP_BY_HOP]
    if user is not None:
        headers.append((USER_HEADER, user))
    return headers


def _target(scope: Mapping[str, Any]) -> str:
    """The request's path and query exactly as the client sent them (not re-encoded)."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"")
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


class Upstream:
    """The Streamlit server at `base` (http://127.0.0.1:PORT)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.ws_base = "ws" + self.base.removeprefix("http")
        self.client = httpx2.AsyncClient(
            base_url=self.base,
            timeout=httpx2.Timeout(60.0, connect=5.0),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def http(self, request: Request, user: str | None) -> Response:
        headers = forward_headers(list(request.headers.items()), user)
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        target = _target(request.scope)
        upstream_request = self.client.build_request(
            request.method,
            target,
            headers=headers,
            content=request.stream() if has_body else None,
        )
        try:
            reply = await self.client.send(upstream_request, stream=True)
        except httpx2.TransportError:
            return Response("RAGstream is starting or restarting; try again.", status_code=502)
        response = StreamingResponse(reply.aiter_raw(), status_code=reply.status_code)
        response.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in reply.headers.multi_items()
            if k.lower() not in HOP_BY_HOP
        ]
        response.background = BackgroundTask(reply.aclose)
        return response

    async def websocket(self, websocket: WebSocket, user: str | None, ended: asyncio.Event) -> None:
        """Relay frames both ways until either side closes or `ended` is set (logout)."""
        path = _target(websocket.scope)
        headers = [
            (k, v)
            for k, v in forward_headers(list(websocket.headers.items()), user)
            if k.lower() not in WS_OWN
        ]
        offered = list(websocket.scope.get("subprotocols", []))
        try:
            upstream = await connect(
                self.ws_base + path,
                additional_headers=headers,
                subprotocols=offered or None,
                max_size=None,
                compression=None,
                open_timeout=10,
            )
        except (OSError, InvalidHandshake, TimeoutError):
            await websocket.close(code=1011)
            return
        async with upstream:
            await websocket.accept(subprotocol=upstream.subprotocol)

            async def to_upstream() -> None:
                with contextlib.suppress(WebSocketDisconnect, ConnectionClosed):
                    while True:
                        message = await websocket.receive()
                        if message["type"] == "websocket.disconnect":
                            return
                        data = message.get("bytes")
                        await upstream.send(data if data is not None else message.get("text", ""))

            async def to_client() -> None:
                with contextlib.suppress(ConnectionClosed, RuntimeError, WebSocketDisconnect):
                    async for data in upstream:
                        if isinstance(data, bytes):
                            await websocket.send_bytes(data)
                        else:
                            await websocket.send_text(data)

            tasks = [
                asyncio.ensure_future(to_upstream()),
                asyncio.ensure_future(to_client()),
                asyncio.ensure_future(ended.wait()),
            ]
            _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()
