"""The gateway app in-process (httpx2's ASGI transport): what it decides before any
request would reach Streamlit. The upstream is a closed port: nothing here may need it."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

from ragstream.web.gateway import create_app
from ragstream.web.oidc import OidcConfig
from tests.support.asgi import NOWHERE, call


async def api_ping(request: Request) -> Response:
    ok = request.headers.get("authorization") == "Bearer t0ken"
    return JSONResponse({"pong": ok}, status_code=200 if ok else 401)


def test_extra_routes_are_mounted_with_their_own_auth_not_the_session() -> None:
    app = create_app(NOWHERE, "pw", extra_routes=[Route("/api/ping", api_ping)])
    assert call(app, "GET", "/api/ping", headers={"Authorization": "Bearer t0ken"}).json() == {
        "pong": True
    }
    assert call(app, "GET", "/api/ping").status_code == 401
    assert call(app, "GET", "/", headers={"Accept": "text/html"}).status_code == 303


def test_identity_header_cannot_be_smuggled_in_from_outside() -> None:
    app = create_app(NOWHERE, "pw")
    forged = call(app, "GET", "/_stcore/host-config", headers={"X-Ragstream-User": "admin"})
    assert forged.status_code == 401


def test_open_when_no_auth_is_configured() -> None:
    app = create_app(NOWHERE, None)
    assert call(app, "GET", "/_stcore/host-config").status_code == 502  # proxied, not refused
    login = call(app, "GET", "/login?next=/x")
    assert login.status_code == 303 and login.headers["location"] == "/x"


def streamlit_user_cookie(secret: str, user: dict[str, object]) -> str:
    return create_signed_value(secret, "_streamlit_user", json.dumps(user)).decode()


def test_oidc_accepts_streamlits_signed_user_cookie_only_with_the_right_secret() -> None:
    app = create_app(NOWHERE, "unused", oidc_config=OidcConfig("the-cookie-secret"))
    page = call(app, "GET", "/login", headers={"Accept": "text/html"})
    assert 'href="/auth/login"' in page.text and 'name="password"' not in page.text
    assert call(app, "GET", "/auth/login").status_code == 502  # passed through to Streamlit
    signed_in = {"is_logged_in": True, "email": "ann@example.com"}
    good = streamlit_user_cookie("the-cookie-secret", signed_in)
    bad = streamlit_user_cookie("another-secret", signed_in)
    out = streamlit_user_cookie("the-cookie-secret", {"is_logged_in": False})
    assert (
        call(app, "GET", "/_stcore/metrics", cookies={"_streamlit_user": good}).status_code == 502
    )
    for cookie in (bad, out, "garbage"):
        reply = call(app, "GET", "/_stcore/metrics", cookies={"_streamlit_user": cookie})
        assert reply.status_code == 401


def test_oidc_is_read_from_streamlits_secrets_files_the_working_directorys_winning(
    tmp_path: Path,
) -> None:
    from ragstream.web.oidc import load_oidc

    user, here = tmp_path / "user.toml", tmp_path / "here.toml"
    assert load_oidc([user, here]) is None  # no files: OIDC off
    user.write_text('[auth]\ncookie_secret = "from-home"\nclient_id = "x"\n')
    assert load_oidc([user, here]) == OidcConfig("from-home")
    here.write_text('[auth]\ncookie_secret = "from-cwd"\n')
    assert load_oidc([user, here]) == OidcConfig("from-cwd")
    here.write_text("not [valid toml")
    assert load_oidc([here]) is None
    user.write_text("[other]\nx = 1\n")
    assert load_oidc([user]) is None


def test_password_login_signs_in_a_user_account_or_the_shared_password_as_admin(
    tmp_path: Path,
) -> None:
    from ragstream.auth import COOKIE_NAME, SessionStore
    from ragstream.workspace import Workspace

    with Workspace.open(workspace=tmp_path / "ws", password="the-admin-pw-1") as ws:
        ws.accounts.add_user("alice", "alice-password-1")
        sessions = SessionStore()

        def login(name: str | None, password: str) -> str | None:
            who = ws.accounts.login(name, password)
            return None if who is None else who.name

        app = create_app(NOWHERE, "the-admin-pw-1", sessions=sessions, accounts=login)
        form = 'name="name"'
        assert form in call(app, "GET", "/login", headers={"Accept": "text/html"}).text
        signed_in = {}
        for name, password in (("alice", "alice-password-1"), ("", "the-admin-pw-1")):
            reply = call(app, "POST", "/login", data={"name": name, "password": password})
            assert reply.status_code == 303, reply.text
            session = sessions.verify(reply.cookies.get(COOKIE_NAME))
            assert session is not None
            signed_in[name] = session.user
        assert signed_in == {"alice": "alice", "": "admin"}
        assert not ws.accounts.session_identity("alice").admin
        assert ws.accounts.session_identity("admin").admin
        for name, password in (("alice", "the-admin-pw-1"), ("bob", "alice-password-1")):
            wrong = call(app, "POST", "/login", data={"name": name, "password": password})
            assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
            assert COOKIE_NAME not in wrong.cookies
