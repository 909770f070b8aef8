"""`ragstream serve`: run the Streamlit app as a child process and stay its parent.

Streamlit is started as `python -m ragstream.app.server` (Streamlit's own `run` command
on the packaged script, plus a warm-up thread) with every setting passed as a flag, so nothing depends on a writable $HOME or a config file there (the
Docker image runs this with a read-only root filesystem). The parent forwards SIGTERM,
SIGINT and SIGHUP to the child and exits with its status, so `docker stop` is clean.
The app itself reads the workspace and secrets from the environment (RAGSTREAM_*),
never from argv, so no secret shows in `ps`.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

import click

from ragstream.commands.options import workspace_option
from ragstream.config import load_settings
from ragstream.host.config import HEALTH_PATH

SCRIPT = Path(__file__).with_name("streamlit_app.py")
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def streamlit_command(port: int, address: str, max_upload_mb: float) -> list[str]:
    """The child's argv: production flags only, no secrets."""
    flags = {
        "server.port": str(port),
        "server.address": address,
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "server.maxUploadSize": str(max(1, math.ceil(max_upload_mb))),
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


@click.command()
@click.option("--port", type=int, default=8501, show_default=True, help="Port to listen on.")
@click.option(
    "--address",
    default="0.0.0.0",
    show_default=True,
    help="Interface to bind (0.0.0.0: all; 127.0.0.1: this machine only).",
)
@workspace_option
def serve(port: int, address: str, workspace: Path | None) -> None:
    """Run the web app (Streamlit) and print the address to open."""
    settings = load_settings({"workspace": workspace})  # a bad setting fails here, in one line
    settings.workspace.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        streamlit_command(port, address, settings.max_file_mb),
        env=child_environment(settings.workspace.resolve(), os.environ),
    )

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)

    url = local_url(address, port)
    if wait_until_up(url + HEALTH_PATH, 60, alive=lambda: child.poll() is None):
        click.echo(f"RAGstream is running: open {url}  (workspace {settings.workspace})")
    code = child.wait()
    # A child stopped by our forwarded signal is a clean stop, not a failure.
    sys.exit(0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code)
