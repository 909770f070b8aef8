"""Helpers for the app tests: a free port and a running `ragstream serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The installed console script, as a user runs it (the module as a fallback).
_SCRIPT = Path(sys.executable).with_name("ragstream")
RAGSTREAM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "ragstream.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(
    url: str, process: subprocess.Popen[Any], timeout: float = 60, poll: float = 0.05
) -> float:
    """Seconds until /_stcore/health answered 200; fails if the server died or hung."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise AssertionError(f"ragstream serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(poll)
    raise AssertionError(f"{url}/_stcore/health did not answer within {timeout} s")


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM (a clean Streamlit shutdown), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving(
    workspace: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`ragstream serve` on a free loopback port; stopped with SIGTERM afterwards."""
    port = free_port()
    flags = ["--address", "127.0.0.1", "--port", str(port), "--workspace", str(workspace)]
    process = subprocess.Popen(
        [*RAGSTREAM, "serve", *flags],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url, process
    finally:
        stop(process)
