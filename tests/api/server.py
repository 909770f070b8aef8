"""A real `ragstream api` process and a workspace to serve, for the API tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx2

from ragstream.api.tokens import TokenStore, tokens_file
from tests.app.serve_helpers import RAGSTREAM, free_port, stop

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


LLM_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAGSTREAM_OPENAI_API_KEY", "RAGSTREAM_MODEL")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without any LLM settings (offline unless `extra` adds them)."""
    env = {k: v for k, v in os.environ.items() if k not in LLM_ENV}
    env.pop("RAGSTREAM_WORKSPACE", None)
    return {**env, **(extra or {})}


def make_workspace(root: Path) -> Path:
    """The sample documents, ingested; returns the workspace directory."""
    docs = root / "docs"
    shutil.copytree(SAMPLES, docs)
    workspace = root / ".ragstream"
    subprocess.run(
        [*RAGSTREAM, "ingest", str(docs), "--workspace", str(workspace)],
        check=True,
        capture_output=True,
        env=clean_env(),
    )
    return workspace


@dataclass
class ApiServer:
    url: str
    workspace: Path
    process: subprocess.Popen[str]

    def client(
        self,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> httpx2.Client:
        sent = {"authorization": f"Bearer {token}"} if token else {}
        merged = {**sent, **(headers or {})}
        return httpx2.Client(base_url=self.url, headers=merged, timeout=timeout)

    def token(self, name: str = "test", scope: str = "write") -> str:
        secret, _ = TokenStore(tokens_file(self.workspace)).create(name, scope)
        return secret


def wait_for_api(url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"ragstream api exited with {process.returncode}: {output}")
        try:
            if httpx2.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {timeout} s")


def start_api(
    workspace: Path, env: Mapping[str, str] | None = None, host: str = "127.0.0.1"
) -> ApiServer:
    port = free_port()
    process = subprocess.Popen(
        [*RAGSTREAM, "api", "--host", host, "--port", str(port), "--workspace", str(workspace)],
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, process)
    except BaseException:
        stop(process)
        raise
    return ApiServer(url, workspace, process)
