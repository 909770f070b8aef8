"""The ASGI app on the public port: login, sessions, then a proxy to Streamlit.

Every request is decided here, before Streamlit sees a byte of it:
- /_stcore/health is public (the Docker and deploy health checks use it);
- /login and /logout are ours; with OIDC, Streamlit's /auth/* and /oauth2callback too;
- `extra_routes` (e.g. the HTTP API) come next and bring their own auth (bearer tokens);
  `ragstream.api.app.mount(gateway, api)`, which puts its routes first, works as well;
- anything else needs a session: a page request without one is sent to /login, any
  other request (websocket, upload, media, component, metrics...) gets 401 and its body
  is never read, so an unauthenticated upload cannot fill the server's memory.
With neither a password nor OIDC configured, the door is open (as on a laptop).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from ragstream.auth import (
    COOKIE_NAME,
    AccountGate,
    Login,
    Sessions,
    SessionStore,
    shared_password_login,
)
from ragstream.host.config import HEALTH_PATH
from ragstream.web import login, oidc
from ragstream.web.oidc import OidcConfig
from ragstream.web.proxy import Upstream

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
OPEN = "open"  # the identity of a visitor when no auth is configured
PASSWORD_USER = "user"  # the session's user after the shared password, without accounts


@dataclass
class Door:
    """Who is in: the configured auth and the live websockets per session (for logout)."""

    password: str | None
    oidc: OidcConfig | None
    sessions: Sessions
    gate: AccountGate | None = None
    live: dict[str, set[asyncio.Event]] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return not self.password and self.oidc is None

    def identify(self, conn: HTTPConnection) -> tuple[str | None, str | None]:
        """(user, session id) of a visitor, or (None, None) if not signed in."""
        if self.open:
            return OPEN, None
        session = self.sessions.verify(conn.cookies.get(COOKIE_NAME))
        if session is not None:
            return session.user, session.id
        if self.oidc is not None:
            return oidc.signed_in_user(self.oidc, conn.cookies), None
        return None, None


def _wants_page(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


def create_app(
    upstream_url: str,
    password: str | None,
    *,
    oidc_config: OidcConfig | None = None,
    sessions: Sessions | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    accounts: Login | None = None,
) -> Starlette:
    """The gateway for the Streamlit at `upstream_url` (http://127.0.0.1:PORT).

    `accounts` signs in a user name + password (blank name: the shared password) and
    names the session's user (ragstream.accounts, via `ragstream serve`); without it the
    shared password alone signs in as "user"."""
    door = Door(password or None, oidc_config, sessions or SessionStore())
    if door.password:
        door.gate = AccountGate(accounts or shared_password_login(door.password, PASSWORD_USER))
    upstream = Upstream(upstream_url)

    async def public(request: Request) -> Response:
        return await upstream.http(request, None)

    async def login_get(request: Request) -> Response:
        next_path = login.safe_next(request.query_params.get("next"))
        if door.open or door.identify(request)[0] is not None:
            return RedirectResponse(next_path, status_code=303)
        return login.login_page(next_path, password=bool(door.password), oidc=door.oidc is not None)

    async def login_post(request: Request) -> Response:
        form = await login.read_form(request)
        if isinstance(form, Response):
            return form
        next_path = login.safe_next(form.get("next"))
        if door.gate is None or door.oidc is not None:
            return RedirectResponse("/login", status_code=303)
        name = form.get("name", "").strip()
        user = await door.gate.sign_in(name or None, form.get("password", ""))
        if user is None:
            wrong = "Wrong name or password." if name else "Wrong password."
            return login.login_page(next_path, password=True, oidc=False, error=wrong)
        cookie, _session = door.sessions.issue(user)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=int(door.sessions.lifetime_s),
            httponly=True,
            samesite="lax",
            secure=request.headers.get("x-forwarded-proto", request.url.scheme) == "https",
        )
        return response

    async def logout(request: Request) -> Response:
        session = door.sessions.verify(request.cookies.get(COOKIE_NAME))
        if session is not None:
            door.sessions.revoke(session)
            for ended in door.live.pop(session.id, set()):
                ended.set()  # its Streamlit sessions disconnect, then free their uploads
        target = "/auth/logout" if door.oidc is not None else "/login"
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(COOKIE_NAME)
        return response

    async def proxy_http(request: Request) -> Response:
        user, _sid = door.identify(request)
        if user is None:
            if _wants_page(request):
                return login.login_redirect(request)
            return PlainTextResponse("Sign in first: open /login.", status_code=401)
        return await upstream.http(request, None if user == OPEN else user)

    async def proxy_websocket(websocket: WebSocket) -> None:
        user, sid = door.identify(websocket)
        if user is None:
            await websocket.send_denial_response(
                PlainTextResponse("Sign in first: open /login.", status_code=401)
            )
            return
        ended = asyncio.Event()
        timer = None
        if sid is not None:
            door.live.setdefault(sid, set()).add(ended)
            session = door.sessions.verify(websocket.cookies.get(COOKIE_NAME))
            if session is not None:  # the session's end closes its websocket too
                delay = max(0.0, session.expires - time.time())
                timer = asyncio.get_running_loop().call_later(delay, ended.set)
        try:
            await upstream.websocket(websocket, None if user == OPEN else user, ended)
        finally:
            if timer is not None:
                timer.cancel()
            if sid is not None:
                door.live.get(sid, set()).discard(ended)

    routes: list[BaseRoute] = [
        Route(HEALTH_PATH, public, methods=["GET", "HEAD"]),
        Route("/login", login_get, methods=["GET", "HEAD"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
    ]
    if door.oidc is not None:
        routes += [Route(path, public, methods=["GET"]) for path in oidc.PUBLIC_PATHS]
    routes += [
        *extra_routes,
        Route("/{path:path}", proxy_http, methods=ALL_METHODS),
        WebSocketRoute("/{path:path}", proxy_websocket),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await upstream.aclose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.door = door
    return app
