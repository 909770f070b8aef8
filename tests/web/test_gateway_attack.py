"""The gateway attacked for real: `ragstream serve` with a password, probed without a
session, with forged, expired and logged-out cookies, and with uploads (issue 17)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.app.serve_helpers import serving

PASSWORD = "correct horse battery"
# Every kind of Streamlit route: the page, its assets, the API-ish ones.
ROUTES = [
    ("GET", "/"),
    ("GET", "/index.html"),
    ("GET", "/static/js/main.js"),
    ("GET", "/_stcore/stream"),
    ("GET", "/_stcore/metrics"),
    ("GET", "/_stcore/host-config"),
    ("GET", "/_stcore/script-health-check"),
    ("GET", "/_stcore/allowed-message-origins"),
    ("GET", "/media/0123456789abcdef.png"),
    ("GET", "/component/anything/index.html"),
    ("GET", "/app/static/x.txt"),
    ("PUT", "/_stcore/upload_file/session/file"),
    ("DELETE", "/_stcore/upload_file/session/file"),
    ("POST", "/_stcore/anything"),
    ("OPTIONS", "/_stcore/upload_file/session/file"),
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    root = tmp_path_factory.mktemp("gateway")
    env = {"RAGSTREAM_PASSWORD": PASSWORD, "RAGSTREAM_SESSION_HOURS": "0.001"}  # 3.6 s
    with serving(root / "ws", env=env, cwd=root) as running:
        yield running


def login(url: str) -> str:
    reply = httpx2.post(f"{url}/login", data={"password": PASSWORD, "next": "/"})
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    return reply.cookies["ragstream_session"]


def refused(reply: httpx2.Response) -> bool:
    if reply.status_code == 303:
        return reply.headers["location"].startswith("/login?next=")
    return reply.status_code == 401


def sweep(url: str, cookies: dict[str, str]) -> list[str]:
    """The routes that did NOT refuse (should be none)."""
    open_routes = []
    with httpx2.Client(base_url=url, cookies=cookies, follow_redirects=False) as client:
        for method, path in ROUTES:
            for accept in ("text/html", "*/*"):
                reply = client.request(method, path, headers={"Accept": accept}, content=b"x")
                if not refused(reply):
                    open_routes.append(f"{method} {path} ({accept}): {reply.status_code}")
    return open_routes


def websocket_status(url: str, cookie: str | None) -> int:
    """The HTTP status of a websocket handshake on Streamlit's stream (101 = opened)."""

    async def attempt() -> int:
        headers = {"Cookie": f"ragstream_session={cookie}"} if cookie else {}
        try:
            async with connect(
                url.replace("http", "ws") + "/_stcore/stream",
                additional_headers=headers,
                subprotocols=["streamlit"],  # type: ignore[list-item]
            ):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())


def test_without_a_session_no_route_and_no_websocket_answers(server) -> None:  # type: ignore[no-untyped-def]
    url, _process = server
    assert sweep(url, {}) == []
    assert websocket_status(url, None) == 401
    page = httpx2.get(url, headers={"Accept": "text/html"}, follow_redirects=True)
    assert page.status_code == 200 and 'name="password"' in page.text  # the login page
    assert "stApp" not in page.text and "streamlit" not in page.text.lower()
    assert httpx2.get(f"{url}/_stcore/health").status_code == 200  # health stays public


def test_forged_expired_and_logged_out_cookies_are_refused(server) -> None:  # type: ignore[no-untyped-def]
    url, _process = server
    wrong = httpx2.post(f"{url}/login", data={"password": "guess", "next": "/"})
    assert wrong.status_code == 401 and "ragstream_session" not in wrong.cookies
    cookie = login(url)
    with httpx2.Client(base_url=url, cookies={"ragstream_session": cookie}) as client:
        assert client.get("/_stcore/host-config").status_code == 200
    assert websocket_status(url, cookie) == 101
    payload, signature = cookie.split(".")
    for forged in (f"{payload}x.{signature}", f"{payload}.{signature[::-1]}", "e30.e30", "1"):
        assert sweep(url, {"ragstream_session": forged}) == []
        assert websocket_status(url, forged) == 401
    time.sleep(4)  # RAGSTREAM_SESSION_HOURS=0.001: the session has expired
    assert sweep(url, {"ragstream_session": cookie}) == []
    assert websocket_status(url, cookie) == 401

    fresh = login(url)
    out = httpx2.get(f"{url}/logout", cookies={"ragstream_session": fresh})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert sweep(url, {"ragstream_session": fresh}) == []  # revoked, though well signed


def test_logout_closes_the_open_websocket_of_that_session(server) -> None:  # type: ignore[no-untyped-def]
    url, _process = server
    cookie = login(url)

    async def scenario() -> float:
        async with connect(
            url.replace("http", "ws") + "/_stcore/stream",
            additional_headers={"Cookie": f"ragstream_session={cookie}"},
            subprotocols=["streamlit"],  # type: ignore[list-item]
        ) as ws:
            async with httpx2.AsyncClient(cookies={"ragstream_session": cookie}) as client:
                await client.get(f"{url}/logout")
            start = time.monotonic()
            with pytest.raises(ConnectionClosed):
                while True:  # Streamlit may still say something before the close
                    await asyncio.wait_for(ws.recv(), timeout=5)
            return time.monotonic() - start

    assert asyncio.run(scenario()) < 2


def rss_mib(pid: int) -> float:
    """Resident memory of `ragstream serve` and its Streamlit child, MiB."""
    pids = [str(pid)]
    pids += subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout.split()
    total_kib = 0
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


def test_unauthenticated_uploads_are_refused_unread_and_cost_no_memory(server) -> None:  # type: ignore[no-untyped-def]
    url, process = server
    before = rss_mib(process.pid)
    body = b"\0" * (10 * 1024 * 1024)
    statuses = []
    for attempt in range(20):
        files = {"file": (f"big{attempt}.txt", body, "text/plain")}
        headers = {"X-Xsrftoken": "forged"}
        try:
            reply = httpx2.put(
                f"{url}/_stcore/upload_file/session-{attempt}/file-{attempt}",
                files=files,
                headers=headers,
                cookies={"_streamlit_xsrf": "forged"},
            )
            statuses.append(reply.status_code)
        except httpx2.TransportError:
            statuses.append(0)  # the server hung up without reading the 10 MiB: also refused
    after = rss_mib(process.pid)
    print(f"RSS before {before:.0f} MiB, after 20 x 10 MiB refused uploads {after:.0f} MiB")
    assert set(statuses) <= {401, 0} and 401 in statuses
    assert after - before < 20, (before, after)
