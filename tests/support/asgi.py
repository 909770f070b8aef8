"""Calling an ASGI app in-process (httpx2's ASGI transport), for the gateway's tests."""

from __future__ import annotations

import asyncio

import httpx2

NOWHERE = "http://127.0.0.1:9"  # discard port: a request proxied there fails with 502


def call(
    app: object, method: str, path: str, cookies: dict[str, str] | None = None, **kwargs: object
) -> httpx2.Response:
    async def go() -> httpx2.Response:
        transport = httpx2.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://gw", cookies=cookies
        ) as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())
