"""`ragstream serve`: the login gateway on the public port, Streamlit behind it.

The public port is bound first (a busy port fails at once, in one line). Streamlit runs
as a child on a private loopback port; this process serves `ragstream.web.gateway`
(login, sessions, reverse proxy) with uvicorn in front of it, so no Streamlit route is
reachable without a session when a password or OIDC is configured.

Streamlit is started as `python -m ragstream.app.server` (Streamlit's own `run` command
on the packaged script, plus a warm-up thread) with every setting passed as a flag, so
nothing depends on a writable $HOME or a config file there (the Docker image runs this
with a read-only root filesystem). SIGTERM, SIGINT or SIGHUP stop the gateway, which
then stops the child and exits 0, so `docker stop` is clean; a crashed child ends the
gateway with its status.
The app itself reads the workspace and secrets from the environment (RAGSTREAM_*),
never from argv, so no secret shows in `ps`.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from ragstream.auth import Login, Sessions, SessionStore, is_loopback
from ragstream.commands.options import workspace_option
from ragstream.config import Settings, load_settings
from ragstream.host.config import HEALTH_PATH
from ragstream.web.oidc import load_oidc

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import ASGIApp

    from ragstream.config import Settings

SCRIPT = Path(__file__).with_name("streamlit_app.py")
SESSION_TTL_S = 30


def streamlit_command(port: int, address: str, max_upload_mb: float) -> list[str]:
    """The child's argv: production flags only, no secrets."""
    flags = {
        "server.port": str(port),
        "server.address": address,
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "server.maxUploadSize": str(max(1, math.ceil(max_upload_mb))),
        # A closed tab's session (and the bytes it uploaded) is freed this long after
        # its websocket went away; a logout closes that websocket at once.
        "server.disconnectedSessionTTL": str(SESSION_TTL_S),
        "browser.gatherUsageStats": "false",
        "global.developmentMode": "false",
        "client.toolbarMode": "minimal",
        "client.showErrorDetails": "none",  # our errors are st.error lines, never tracebacks
        "logger.hideWelcomeMessage": "true",  # it would print 0.0.0.0; we print a usable URL
        "theme.base": "light",
    }
    argv = [sys.executable, "-m", "ragstream.app.server"]  # `streamlit run SCRIPT` + warm-up
    for name, value in flags.items():
        argv.append(f"--{name}={value}")
    return argv


def child_environment(workspace: Path, base: Mapping[str, str]) -> dict[str, str]:
    """Environment for Streamlit: the workspace, and a writable HOME if ours is not."""
    env = dict(base)
    env["RAGSTREAM_WORKSPACE"] = str(workspace)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    home = env.get("HOME", "")
    if not home or not os.access(home, os.W_OK):
        # Streamlit keeps ~/.streamlit for caches; a read-only HOME must not break it.
        # No writable temp dir either: headless Streamlit still runs without one.
        with contextlib.suppress(OSError):
            env["HOME"] = tempfile.mkdtemp(prefix="ragstream-home-")
    return env


def local_url(address: str, port: int) -> str:
    """The URL to reach a server bound to `address` from this machine: a wildcard bind
    is reached (and printed) as 127.0.0.1."""
    host = "127.0.0.1" if address in ("0.0.0.0", "::", "") else address
    return f"http://{host}:{port}"


def wait_until_up(
    health_url: str, timeout: float, alive: Callable[[], bool] = lambda: True
) -> bool:
    """Poll Streamlit's health endpoint until it answers 200 (False on timeout or death)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(health_url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def bind_public(address: str, port: int) -> socket.socket:
    """The public listening socket, bound before anything starts: a busy port is one
    clear line, not a half-started server pointing at another instance."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        reason = (
            "is already in use"
            if exc.errno == errno.EADDRINUSE
            else f"cannot be bound ({exc.strerror})"
        )
        raise click.ClickException(
            f"port {port} on {address} {reason}: stop the other server or pass --port N"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def private_port() -> int:
    """A free loopback port for the Streamlit behind the gateway."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def gateway_server(app: ASGIApp) -> Any:
    """uvicorn's Server for the gateway, imported late (see `serve`).

    uvicorn re-raises the stop signal after its shutdown (the process would die of
    SIGTERM); this one only stops, so `serve` can stop the child and exit 0.
    """
    import uvicorn

    class Gateway(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            def stop(_signum: int, _frame: FrameType | None) -> None:
                self.should_exit = True

            previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
            try:
                yield
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    return Gateway(config)


def mount_api(gateway: Starlette, settings: Settings, *, open_without_tokens: bool) -> None:
    """The HTTP API (REST /api/v1, OpenAI-compatible /v1, MCP /mcp) on the page's port,
    behind its own bearer tokens: never the page's cookie. Until a token exists it
    answers 401, unless this is an unguarded loopback server (a developer's machine)."""
    from ragstream.api.app import create_app as create_api
    from ragstream.api.app import mount
    from ragstream.api.tokens import open_tokens
    from ragstream.workspace import Workspace

    api = create_api(
        lambda: Workspace(settings),
        open_tokens(settings),
        allow_open=open_without_tokens,
        warm_up=False,  # the page's process warms its own; the API loads on first call
    )
    mount(gateway, api)


def _sessions(settings: Settings) -> Sessions:
    """Sign-ins every replica sees when they share a database; else signed cookies."""
    if settings.database_url:
        from ragstream.auth.shared_sessions import PostgresSessionStore

        return PostgresSessionStore(settings.database_url, hours=settings.session_hours)
    return SessionStore(hours=settings.session_hours)


def _accounts_login(settings: Settings) -> Login:
    """The gateway's sign-in: a local account, or no name and RAGSTREAM_PASSWORD (admin)."""
    from ragstream.workspace import Workspace

    workspace = Workspace(settings)

    def login(name: str | None, password: str) -> str | None:
        who = workspace.accounts.login(name, password)
        return None if who is None else who.name

    return login


@click.command()
@click.option("--port", type=int, default=8501, show_default=True, help="Port to listen on.")
@click.option(
    "--address",
    default="0.0.0.0",
    show_default=True,
    help="Interface to bind (0.0.0.0: all; 127.0.0.1: this machine only).",
)
@workspace_option
@click.option(
    "--watch/--no-watch",
    default=True,
    show_default=True,
    help="Keep the workspace's sources in sync while serving (see: ragstream watch).",
)
def serve(port: int, address: str, workspace: Path | None, watch: bool) -> None:
    """Run the web app (login gateway + Streamlit) and print the address to open."""
    settings = load_settings({"workspace": workspace})  # a bad setting fails here, in one line
    settings.workspace.mkdir(parents=True, exist_ok=True)
    listener = bind_public(address, port)
    oidc = load_oidc()  # tomllib only: cheap
    guarded = bool(settings.password) or oidc is not None
    if not guarded and not is_loopback(address):
        click.echo(
            f"RAGstream: warning: no password set and {address} is reachable from other "
            "machines: anyone there can read and upload; set RAGSTREAM_PASSWORD "
            "(or RAGSTREAM_PASSWORD_FILE) or configure st.login in secrets.toml.",
            err=True,
        )
    if watch:
        from ragstream.commands.sources import start_background_watch

        start_background_watch(settings)
    inner = private_port()
    child = subprocess.Popen(
        streamlit_command(inner, "127.0.0.1", settings.max_file_mb),
        env=child_environment(settings.workspace.resolve(), os.environ),
    )
    # Imported once Streamlit is starting: the two processes load in parallel.
    from ragstream.web.gateway import create_app

    app = create_app(
        f"http://127.0.0.1:{inner}",
        settings.password,
        oidc_config=oidc,
        sessions=_sessions(settings),
        accounts=_accounts_login(settings) if settings.password else None,
    )
    mount_api(app, settings, open_without_tokens=guarded is False and is_loopback(address))
    server = gateway_server(app)

    def watch_child() -> None:
        child.wait()  # Streamlit gone (crash or our stop): the gateway has nothing to serve
        server.should_exit = True

    def announce() -> None:
        url = local_url(address, port)
        if wait_until_up(url + HEALTH_PATH, 60, alive=lambda: child.poll() is None):
            click.echo(f"RAGstream is running: open {url}  (workspace {settings.workspace})")

    threading.Thread(target=watch_child, daemon=True).start()
    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[listener])
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        code = child.wait()
    if server.should_exit and code in (0, -signal.SIGTERM, -signal.SIGINT):
        sys.exit(0)
    sys.exit(code or 1)
