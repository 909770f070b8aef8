"""create_app(): the three doors (REST, /v1, /mcp) as one self-contained ASGI app.

    api = create_app(lambda: Workspace.open(settings), TokenStore(path), allow_open=True)
    uvicorn.run(api, ...)                     # standalone: `ragstream api`
    mount(gateway, api)                       # or inside another Starlette app, same port

The Workspace is made (and warmed) in the app's lifespan and closed at shutdown. A host
app that serves it on its own port routes PREFIXES here (`api.routes()`, which keep the
full path) and enters `api.lifespan()` in its own lifespan; `mount()` does both. Auth
(api/auth.py) wraps everything, so a mounted API brings its own bearer tokens and
never trusts the host's session cookie.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match

from ragstream.api import errors, openai_compat, rest
from ragstream.api.auth import ASGIApp, BearerAuth, FailureLimiter, Scope, send_json
from ragstream.api.errors import ApiError, error_body
from ragstream.api.mcp_server import build_mcp
from ragstream.api.service import Service
from ragstream.api.tokens import TokenStore
from ragstream.workspace import Workspace

PREFIXES = ("/api/", "/v1/", "/mcp")  # what a host app routes to this one (/mcp: exact or /mcp/...)
MCP_PATH = "/mcp"
JSON_PATHS = frozenset({"/api/v1/search", "/api/v1/ask", "/v1/chat/completions"})
FORM_TYPE = b"application/x-www-form-urlencoded"
REQUEST_FILES = 5  # a request body may hold this many maximal files (413 beyond)


def create_app(
    workspace_factory: Callable[[], Workspace],
    tokens: TokenStore,
    *,
    allow_open: bool = False,
    limiter: FailureLimiter | None = None,
    warm_up: bool = True,
) -> ApiApp:
    """The API as an ASGI app. `allow_open`: serve without tokens while none exist
    (only for a loopback bind; see auth.check_bind)."""
    state: dict[str, Service] = {}

    def service() -> Service:
        if "service" not in state:
            raise ApiError(503, "the workspace is still loading; retry shortly")
        return state["service"]

    mcp = build_mcp(service)
    # DNS-rebinding checks live in BearerAuth for every door; the SDK's would refuse
    # any non-loopback Host even behind a valid token.
    mcp_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = Service(await run_in_threadpool(workspace_factory))
        if warm_up:
            await run_in_threadpool(svc.warm_up)
        state["service"] = app.state.service = svc
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            state.pop("service", None)
            svc.close()

    api = FastAPI(
        title="RAGstream API",
        version=version("ragstream"),
        description="Ask your documents: REST (/api/v1), OpenAI-compatible (/v1) and MCP (/mcp).",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        strict_content_type=False,  # `curl -d '{...}'` sends JSON as a form type
    )
    errors.install(api)
    api.include_router(rest.router)
    api.include_router(openai_compat.router)
    auth = BearerAuth(Doors(api, mcp_app, service), tokens, allow_open=allow_open, limiter=limiter)
    return ApiApp(auth, api)


class ApiApp:
    """The API as an ASGI callable, plus what a host app needs to serve it."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.fastapi = api

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    def lifespan(self) -> AbstractAsyncContextManager[Any]:
        """Open the workspace and the MCP session manager; close them on exit."""
        return self.fastapi.router.lifespan_context(self.fastapi)

    def routes(self) -> list[BaseRoute]:
        """Routes for a host Starlette app (e.g. `extra_routes` of the web gateway)."""
        return [PrefixRoute(PREFIXES, self)]


class PrefixRoute(BaseRoute):
    """Send every path under `prefixes` to `app` with the scope untouched (a Mount
    would move the prefix into root_path, and the API routes on full paths)."""

    def __init__(self, prefixes: tuple[str, ...], app: ASGIApp) -> None:
        self.prefixes = prefixes
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NotImplementedError("the API routes by prefix")


def mount(host: Starlette, api: ApiApp) -> None:
    """Serve `api` inside `host`: its routes first, its lifespan inside the host's."""
    host.router.routes[0:0] = api.routes()
    inner = host.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with api.lifespan(), inner(app) as state:
            yield state

    host.router.lifespan_context = lifespan


class Doors:
    """Route /mcp to the MCP transport, everything else (lifespan too) to FastAPI;
    refuse request bodies over the upload limit before reading them (413)."""

    def __init__(self, api: FastAPI, mcp_app: Any, service: Callable[[], Service]) -> None:
        self.api = api
        self.mcp_app = mcp_app
        self.service = service

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            too_big = self._too_big(scope)
            if too_big:
                await send_json(send, 413, error_body(413, "too_large", too_big), {})
                return
            path = scope["path"]
            receive = self._capped(receive)
            if path in JSON_PATHS:
                scope = json_by_default(scope)
            if path == MCP_PATH or path.startswith(MCP_PATH + "/"):
                await self.mcp_app(scope, receive, send)
                return
        await self.api(scope, receive, send)

    def _limit(self) -> float | None:
        try:
            return self.service().settings.max_file_bytes * REQUEST_FILES + 1e6
        except ApiError:
            return None

    def _capped(self, receive: Any) -> Any:
        """A body sent without Content-Length (chunked) is cut off at the same limit:
        the handler reading it gets a 413 instead of filling the disk."""
        limit = self._limit()
        if limit is None:
            return receive
        seen = 0

        async def capped() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ApiError(413, f"request body over the {limit / 1e6:.0f} MB limit")
            return message

        return capped

    def _too_big(self, scope: Scope) -> str | None:
        length = dict(scope["headers"]).get(b"content-length")
        if not length or not length.isdigit():
            return None
        limit = self._limit()
        if limit is None or int(length) <= limit:
            return None
        return (
            f"request body of {int(length) / 1e6:.1f} MB is over the {limit / 1e6:.0f} MB limit "
            f"({REQUEST_FILES} files of RAGSTREAM_MAX_FILE_MB): upload in several requests"
        )


def json_by_default(scope: Scope) -> Scope:
    """`curl -d '{...}'` labels JSON as a form: these endpoints take only JSON, so read it
    as JSON (a body that is not JSON still gets a 422 naming the problem)."""
    headers = scope["headers"]
    if not any(k == b"content-type" and v.startswith(FORM_TYPE) for k, v in headers):
        return scope
    fixed = [(k, v) for k, v in headers if k != b"content-type"]
    return {**scope, "headers": [*fixed, (b"content-type", b"application/json")]}
