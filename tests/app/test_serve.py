"""`ragstream serve` for real: a child Streamlit, health, the printed URL, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ragstream.app.cli import child_environment, local_url, streamlit_command
from ragstream.app.server import health_url
from tests.app.serve_helpers import RAGSTREAM, serving


def test_streamlit_flags_are_production_ones_and_carry_no_secret() -> None:
    argv = streamlit_command(8600, "0.0.0.0", 12.5)
    assert argv[:3] == [sys.executable, "-m", "ragstream.app.server"]
    flags = dict(a.removeprefix("--").split("=", 1) for a in argv[3:])
    assert flags["server.port"] == "8600"
    assert flags["server.address"] == "0.0.0.0"
    assert flags["server.headless"] == "true"
    assert flags["server.fileWatcherType"] == "none"
    assert flags["browser.gatherUsageStats"] == "false"
    assert flags["server.maxUploadSize"] == "13"  # MB, rounded up so the app's check decides
    assert int(flags["server.disconnectedSessionTTL"]) <= 60  # a closed tab's uploads go soon


def test_wildcard_bind_prints_a_loopback_url() -> None:
    assert local_url("0.0.0.0", 8501) == "http://127.0.0.1:8501"
    assert local_url("::", 8501) == "http://127.0.0.1:8501"
    assert local_url("10.0.0.5", 9000) == "http://10.0.0.5:9000"


def test_unwritable_home_is_replaced_for_streamlit(tmp_path: Path) -> None:
    env = child_environment(tmp_path / "ws", {"HOME": "/nonexistent", "OPENAI_API_KEY": "k"})
    assert env["HOME"] != "/nonexistent" and os.access(env["HOME"], os.W_OK)
    assert env["RAGSTREAM_WORKSPACE"] == str(tmp_path / "ws")
    assert env["OPENAI_API_KEY"] == "k"  # secrets travel by environment, not argv
    kept = child_environment(tmp_path, {"HOME": str(tmp_path)})
    assert kept["HOME"] == str(tmp_path)


def test_health_url_follows_the_server_flags() -> None:
    argv = streamlit_command(8600, "0.0.0.0", 50)[3:]
    assert health_url(argv) == "http://127.0.0.1:8600/_stcore/health"
    assert health_url(["--server.address=10.1.2.3", "--server.port=9"]).startswith(
        "http://10.1.2.3:9/"
    )


@pytest.mark.slow
def test_serve_answers_health_warms_up_prints_url_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    env = {"HOME": "/nonexistent", "RAGSTREAM_PASSWORD": "s3cret-value"}
    with serving(tmp_path / "ws", env=env, cwd=tmp_path) as (url, process):
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while not any("index loaded" in line for line in lines) and time.monotonic() < deadline:
            assert process.poll() is None, "".join(lines)
            time.sleep(0.2)
        children = subprocess.run(
            ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(process.pid)],
            capture_output=True,
            text=True,
        ).stdout
        assert "ragstream.app.server" in children and "s3cret-value" not in children
        assert "--server.address=127.0.0.1" in children  # Streamlit only behind the gateway
        child_pids = [int(line.split()[0]) for line in children.splitlines()]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        reader.join(timeout=5)
    output = "".join(lines)
    assert process.returncode == 0
    assert f"open {url}" in output
    assert "RAGstream: index loaded (0 documents)" in output
    assert "0.0.0.0" not in output and "Traceback" not in output
    assert "missing ScriptRunContext" not in output  # the warm-up thread is quiet
    assert (tmp_path / "ws").is_dir()
    for pid in child_pids:  # the child went down with the parent
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def test_a_busy_port_fails_first_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*RAGSTREAM, "serve", "--address", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stdout == ""  # no "RAGstream is running" pointing at the other server
    assert result.stderr.strip() == (
        f"Error: port {port} on 127.0.0.1 is already in use: stop the other server or pass --port N"
    )
