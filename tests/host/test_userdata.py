"""The user data, the unit and the Caddyfile, checked by their real validators."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.package import build_zipapp
from ragstream.host.proxy import render_caddyfile
from ragstream.host.userdata import (
    USER_DATA_LIMIT,
    compress_user_data,
    render_unit,
    render_user_data,
)

CONFIG = HostConfig(
    region="eu-central-1",
    stack="rs-prod",
    image_repository="123456789012.dkr.ecr.eu-central-1.amazonaws.com/ragstream-web",
    domain="rag.example.com",
    hosted_zone_id="Z0123456789",
    database_url_parameter="/ragstream/prod/DATABASE_URL",
)


def _document(config: HostConfig = CONFIG) -> dict:
    text = render_user_data(config)
    assert text.startswith("#cloud-config\n")
    return json.loads(text.split("\n", 1)[1])


def _files(document: dict) -> dict[str, dict]:
    return {entry["path"]: entry for entry in document["write_files"]}


def test_user_data_fits_in_ec2_limit_with_room_to_spare() -> None:
    size = len(compress_user_data(render_user_data(CONFIG)))  # what EC2 counts
    assert size < USER_DATA_LIMIT
    assert size < USER_DATA_LIMIT - 1500, f"{size} bytes: little headroom left for new code"


def test_user_data_installs_ubuntu_packages_and_starts_the_units() -> None:
    document = _document()
    assert set(document["packages"]) == {"docker.io", "python3-boto3", "caddy"}
    # caddy from Caddy's repository: Ubuntu's 2.6 closes WebSockets at every reload.
    (source,) = document["apt"]["sources"].values()
    assert "https://dl.cloudsmith.io/public/caddy/stable/deb/debian" in source["source"]
    assert source["keyid"] == "65760C51EDEA2017CEA2CA15155B6D79CA56EA34"
    commands = [" ".join(command) for command in document["runcmd"]]
    assert commands[0] == "/usr/local/bin/ragstream-host mount-data"
    assert "systemctl enable --now --no-block ragstream.service" in commands
    assert commands.index("systemctl daemon-reload") < commands.index(
        "systemctl enable --now --no-block ragstream.service"
    )
    # Written after the packages, so the caddy package never meets our Caddyfile.
    assert all(entry["defer"] for entry in document["write_files"])


def test_user_data_carries_settings_agent_unit_and_caddyfile() -> None:
    files = _files(_document())
    assert HostConfig.from_json(files["/etc/ragstream/host.json"]["content"]) == CONFIG
    agent = files["/usr/local/bin/ragstream-host"]
    assert agent["permissions"] == "0755" and agent["encoding"] == "gz+b64"
    assert gzip.decompress(base64.b64decode(agent["content"])) == build_zipapp()
    unit = files["/etc/systemd/system/ragstream.service"]["content"]
    assert unit == render_unit("/usr/local/bin/ragstream-host")
    caddyfile = files["/etc/caddy/Caddyfile"]["content"]
    assert "rag.example.com {" in caddyfile
    # Caddy's repository gives >= 2.8: the port is read from its own file at each request.
    assert "vars ragstream_upstream {file./etc/caddy/ragstream-upstream}" in caddyfile
    assert "reverse_proxy 127.0.0.1:{vars.ragstream_upstream}" in caddyfile
    assert files["/etc/caddy/ragstream-upstream"]["content"] == "8501"
    assert "stream_close_delay 600000ms" in caddyfile  # the default drain timeout


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs the system python3")
def test_cloud_init_reads_the_gzipped_user_data(tmp_path: Path) -> None:
    """EC2 gets the user data gzipped; cloud-init's own reader gives back the document."""
    text = render_user_data(CONFIG)
    (tmp_path / "user-data.gz").write_bytes(compress_user_data(text))
    script = (
        "import sys; from cloudinit.user_data import convert_string; "
        "sys.stdout.buffer.write(convert_string(open(sys.argv[1], 'rb').read())"
        ".get_payload(decode=True))"
    )
    result = subprocess.run(
        ["/usr/bin/python3", "-c", script, str(tmp_path / "user-data.gz")], capture_output=True
    )
    if b"No module named 'cloudinit'" in result.stderr:
        pytest.skip("apt-get install cloud-init")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == text


def test_oversized_user_data_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ragstream.host.userdata.build_zipapp", lambda: os.urandom(20000))
    with pytest.raises(HostError, match="over EC2's 16384-byte limit"):
        render_user_data(CONFIG)


def test_caddyfile_is_plain_http_without_a_domain_and_https_with_one() -> None:
    plain = render_caddyfile(HostConfig(region="r", stack="s", image_repository="h/r"), 8502)
    assert ":80 {" in plain and "reverse_proxy 127.0.0.1:8502\n" in plain
    assert "rag.example.com {" in render_caddyfile(CONFIG, 8501)


def test_agent_zipapp_holds_only_runtime_modules() -> None:
    names = zipfile.ZipFile(io.BytesIO(build_zipapp())).namelist()
    assert "__main__.py" in names and "ragstream/host/agent.py" in names
    assert "ragstream/host/templates/Caddyfile" in names
    assert "ragstream/host/userdata.py" not in names


@pytest.mark.skipif(shutil.which("cloud-init") is None, reason="apt-get install cloud-init")
@pytest.mark.parametrize("domain", [None, "rag.example.com"])
def test_user_data_passes_cloud_init_schema(tmp_path: Path, domain: str | None) -> None:
    config = HostConfig(**{**CONFIG.__dict__, "domain": domain})
    path = tmp_path / "user-data.yaml"
    path.write_text(render_user_data(config))
    result = subprocess.run(
        ["cloud-init", "schema", "--config-file", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    agent = tmp_path / "ragstream-host"
    agent.write_bytes(build_zipapp())
    agent.chmod(0o755)
    unit = tmp_path / "ragstream.service"
    unit.write_text(render_unit(str(agent)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "ragstream.service" not in result.stderr, result.stderr  # no warnings about it
    text = unit.read_text()
    assert "After=network-online.target docker.service" in text
    assert "RequiresMountsFor=/var/lib/ragstream/data\n" in text
    assert f"ExecStartPre=-{agent} dns\nExecStart={agent} start\n" in text
    assert "Restart=on-failure" in text and "StartLimitBurst=" in text


def test_unit_with_a_missing_agent_fails_verify(tmp_path: Path) -> None:
    """The validator really checks: a unit pointing at nothing is rejected."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("needs systemd")
    unit = tmp_path / "ragstream.service"
    unit.write_text(render_unit(str(tmp_path / "missing")))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True
    )
    assert result.returncode != 0


@pytest.mark.skipif(shutil.which("caddy") is None, reason="apt-get install caddy")
@pytest.mark.parametrize("domain", [None, "rag.example.com"])
def test_caddyfile_is_accepted_by_caddy(tmp_path: Path, domain: str | None) -> None:
    config = HostConfig(region="r", stack="s", image_repository="h/r", domain=domain)
    path = tmp_path / "Caddyfile"
    path.write_text(render_caddyfile(config, 8502))
    result = subprocess.run(
        ["caddy", "adapt", "--config", str(path), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    server = next(iter(json.loads(result.stdout)["apps"]["http"]["servers"].values()))
    assert server["listen"] == ([":443"] if domain else [":80"])
    assert '"dial":"127.0.0.1:8502"' in result.stdout.replace(" ", "")
