"""The MCP door (official `mcp` SDK): tools search, ask, list_documents, get_passage.

The same server object runs over stdio (`ragstream mcp`, for desktop agents) and over
streamable HTTP at /mcp (mounted by api/app.py, behind the bearer tokens). Tools run
the blocking library calls in a worker thread; a RagstreamError becomes a tool error
carrying its one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ragstream.api.rest import collect
from ragstream.api.service import Service
from ragstream.errors import RagstreamError

T = TypeVar("T")
INSTRUCTIONS = (
    "RAGstream answers from the user's own documents. Use `search` to find passages, "
    "`ask` for a cited answer ([n] markers refer to its sources), `get_passage` for the "
    "full text of a cited chunk, `list_documents` to see what is indexed."
)


class Passage(BaseModel):
    chunk_id: str = Field(description="Pass to get_passage for the full text.")
    path: str
    page: int | None
    title: str | None
    text: str
    score: float | None = None


class Citation(BaseModel):
    n: int = Field(description="The [n] marker in the answer.")
    chunk_id: str
    label: str = Field(description='Where it is, e.g. "docs/x.pdf p.7".')
    text: str


class Answer(BaseModel):
    answer: str
    citations: list[Citation]
    offline: bool = Field(description="True: extractive (quoted sentences), no LLM used.")


class Document(BaseModel):
    path: str
    n_chunks: int
    n_pages: int | None
    size: int


async def _run(service: Callable[[], Service], work: Callable[[Service], T]) -> T:
    try:
        return await anyio.to_thread.run_sync(lambda: work(service()))
    except RagstreamError as exc:
        raise ToolError(str(exc)) from None


def build_mcp(service: Callable[[], Service]) -> MCPServer[Any]:
    """The MCP server; `service` returns the shared Service (created by the host app)."""
    mcp: MCPServer[Any] = MCPServer(
        "ragstream", instructions=INSTRUCTIONS, version=version("ragstream"), log_level="WARNING"
    )

    @mcp.tool()
    async def search(
        query: Annotated[str, Field(min_length=1, max_length=4000, description="What to find.")],
        k: Annotated[int, Field(ge=1, le=100, description="How many passages.")] = 5,
        mode: Literal["hybrid", "bm25", "dense"] | None = None,
        path: Annotated[
            str | None, Field(max_length=500, description='Glob on document paths, e.g. "*.pdf".')
        ] = None,
    ) -> list[Passage]:
        """Passages of the indexed documents most relevant to `query`, best first."""
        hits = await _run(service, lambda s: s.search(query, k, mode, path))
        return [
            Passage(
                chunk_id=h.chunk.id,
                path=h.chunk.path,
                page=h.chunk.page,
                title=h.chunk.title,
                text=h.chunk.text,
                score=h.score,
            )
            for h in hits
        ]

    @mcp.tool()
    async def ask(
        question: Annotated[str, Field(min_length=1, max_length=4000)],
        k: Annotated[int | None, Field(ge=1, le=100)] = None,
        mode: Literal["hybrid", "bm25", "dense"] | None = None,
        path: Annotated[str | None, Field(max_length=500)] = None,
        offline: Annotated[
            bool | None, Field(description="true: extractive even when an LLM is configured")
        ] = None,
    ) -> Answer:
        """A cited answer from the documents: [n] markers refer to `citations`."""

        def work(s: Service) -> Answer:
            options = {"k": k, "mode": mode, "path_glob": path, "offline": offline or None}
            done, _ = collect(s.ask(question, (), **options))
            return Answer(
                answer=done.answer,
                citations=[
                    Citation(n=c.n, chunk_id=c.chunk_id, label=c.label, text=c.text)
                    for c in done.citations
                ],
                offline=done.offline,
            )

        return await _run(service, work)

    @mcp.tool()
    async def list_documents() -> list[Document]:
        """Every indexed document, with its chunk and page counts."""
        docs = await _run(service, lambda s: s.documents())
        return [
            Document(path=d.path, n_chunks=d.n_chunks, n_pages=d.n_pages, size=d.size) for d in docs
        ]

    @mcp.tool()
    async def get_passage(
        chunk_id: Annotated[str, Field(min_length=1, max_length=200)],
    ) -> Passage:
        """The full text of one chunk (a search hit or an answer's citation)."""
        chunk = await _run(service, lambda s: s.passage(chunk_id))
        if chunk is None:
            raise ToolError(f"no passage {chunk_id!r}: use a chunk_id from search or ask")
        return Passage(
            chunk_id=chunk.id, path=chunk.path, page=chunk.page, title=chunk.title, text=chunk.text
        )

    return mcp
