"""The MCP door with the official SDK's client: over stdio (`ragstream mcp`) and over
streamable HTTP at /mcp of a running `ragstream api`; list the tools, call each."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.api.server import ApiServer, clean_env, make_workspace
from tests.app.serve_helpers import RAGSTREAM

pytestmark = pytest.mark.slow
TOOLS = {"search", "ask", "list_documents", "get_passage"}


def structured(result: Any) -> Any:
    assert not result.is_error, result.content
    data = result.structured_content
    return data["result"] if isinstance(data, dict) and set(data) == {"result"} else data


async def exercise(client: Client) -> dict[str, Any]:
    """List the tools and call each one, returning what they said."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= TOOLS
    schema = tools["search"].input_schema
    assert schema["properties"]["k"]["type"] == "integer" and schema["required"] == ["query"]
    assert schema["properties"]["k"]["maximum"] == 100

    hits = structured(await client.call_tool("search", {"query": "rotate the OpenAI key", "k": 2}))
    assert len(hits) == 2 and hits[0]["path"].endswith("data-retention-policy.docx")
    passage = structured(await client.call_tool("get_passage", {"chunk_id": hits[0]["chunk_id"]}))
    assert passage["text"] == hits[0]["text"]
    answer = structured(await client.call_tool("ask", {"question": "How do I roll back?"}))
    assert answer["offline"] and "rollback" in answer["answer"] and answer["citations"]
    assert all(f"[{c['n']}]" in answer["answer"] for c in answer["citations"])
    docs = structured(await client.call_tool("list_documents", {}))
    assert len(docs) == 5 and all(d["n_chunks"] > 0 for d in docs)

    missing = await client.call_tool("get_passage", {"chunk_id": "nope"})
    assert missing.is_error and "no passage" in json.dumps(missing.model_dump())
    bad = await client.call_tool("search", {"query": "x", "k": 0})
    assert bad.is_error
    return {"hits": hits, "answer": answer}


def test_stdio(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    params = StdioServerParameters(
        command=RAGSTREAM[0],
        args=[*RAGSTREAM[1:], "mcp", "--workspace", str(workspace)],
        env=clean_env(),
    )

    async def main() -> None:
        async with Client(params, read_timeout_seconds=120) as client:
            await exercise(client)

    anyio.run(main)


def test_streamable_http_behind_tokens(api_factory: Callable[..., ApiServer]) -> None:
    server = api_factory()
    token = server.token("mcp")

    async def main() -> None:
        headers = {"authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
            async with Client(transport) as client:
                await exercise(client)

    anyio.run(main)
    no_token = httpx2.post(f"{server.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "unauthorized"
