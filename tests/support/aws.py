"""Shared AWS fixtures: a real moto server (HTTP) and fake credentials pointing at it.

API (stable; other engineers depend on it):

- ``moto_server`` (session): starts ``python -m moto.server`` on a free 127.0.0.1 port with
  ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` (so ``AmazonSSMManagedInstanceCore`` exists) and
  ``MOTO_EC2_LOAD_DEFAULT_AMIS=false`` (EC2 starts several seconds faster; register the
  image you need: ``ec2.register_image(Name=..., RootDeviceName="/dev/sda1")``), and
  yields its endpoint URL, e.g. ``"http://127.0.0.1:41234"``. Stopped at session end.
- ``aws`` (function): resets moto's state (every test starts with an empty account), sets
  the environment of this process through ``monkeypatch`` (fake credentials, region,
  ``AWS_ENDPOINT_URL``; no profile, no ~/.aws files) and yields an :class:`AwsTestAccount`:

      aws.endpoint_url   "http://127.0.0.1:PORT"
      aws.region         "eu-west-1" (deliberately not a default anywhere in the code)
      aws.account_id     moto's account id, "123456789012"
      aws.env            dict of the variables above: pass to subprocesses as
                         ``env={**os.environ, **aws.env}`` (already in os.environ here)
      aws.session()      a boto3.Session on that account and region
      aws.client("ssm")  a boto3 client of that session

Only the owner of this file (deploy) edits it; ask before changing the API.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

MOTO_ACCOUNT_ID = "123456789012"
TEST_REGION = "eu-west-1"


@dataclass(frozen=True)
class AwsTestAccount:
    endpoint_url: str
    region: str = TEST_REGION
    account_id: str = MOTO_ACCOUNT_ID
    env: dict[str, str] = field(default_factory=dict)

    def session(self) -> Any:
        import boto3

        return boto3.Session(
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto_server did not answer on {url} within {timeout}s")


def _reset(endpoint_url: str) -> None:
    request = urllib.request.Request(endpoint_url + "/moto-api/reset", method="POST", data=b"")
    # Generous: re-creating moto's backends takes seconds on a busy 2-core machine.
    with urllib.request.urlopen(request, timeout=120):
        pass


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    env = {
        **os.environ,
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsTestAccount]:
    _reset(moto_server)
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": TEST_REGION,
        "AWS_REGION": TEST_REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield AwsTestAccount(endpoint_url=moto_server, env=env)
