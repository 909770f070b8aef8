"""The project's real image behind the agent and Caddy: healthy, and WebSockets pass."""

from __future__ import annotations

import base64
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from tests.host.site import Site, docker_as

# The timeout covers the session's first build of the app image, if this test triggers it.
pytestmark = [pytest.mark.docker, pytest.mark.aws, pytest.mark.slow, pytest.mark.timeout(1800)]


def _push(app_image: str, repository: str, docker_config: Path) -> None:
    docker = docker_as(docker_config)
    docker("tag", app_image, f"{repository}:app")
    docker("push", f"{repository}:app")
    docker("rmi", f"{repository}:app")  # the agent must pull it


def _websocket_handshake(port: int, path: str) -> str:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_real_app_image_serves_through_caddy_with_websockets(
    site: Site, app_image: str, docker_config: Path
) -> None:
    _push(app_image, site.config.image_repository, docker_config)
    config = replace(site.config, image_tag="app", health_timeout=180.0)
    result = site.agent("start", config=config)
    assert result.returncode == 0, result.stderr
    assert site.key not in result.stderr
    assert site.get("/_stcore/health") == (200, "ok")
    code, page = site.get("/")
    assert code == 200 and "<html" in page.lower()
    assert _websocket_handshake(config.http_port, "/_stcore/stream") == (
        "HTTP/1.1 101 Switching Protocols"
    )
