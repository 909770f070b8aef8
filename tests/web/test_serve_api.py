"""`ragstream serve` carries the HTTP API on the page's own port, behind tokens of its own:
the page's password and session cookie never open it (a real server, real HTTP)."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.api.server import clean_env, make_workspace
from tests.app.serve_helpers import RAGSTREAM, serving

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery staple"


def call(url: str, token: str | None = None, body: dict[str, object] | None = None) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body else "GET",
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_api_shares_the_port_and_needs_its_own_token(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    env = {**clean_env(), "RAGSTREAM_PASSWORD": PASSWORD}
    with serving(workspace, env=env) as (url, _process):
        search = f"{url}/api/v1/search"
        assert call(f"{url}/api/v1/health") == 200  # public, like /_stcore/health
        assert call(search, body={"query": "rotate the key"}) == 401  # guarded: no open mode
        assert call(search, token=PASSWORD, body={"query": "rotate the key"}) == 401
        created = subprocess.run(
            [*RAGSTREAM, "token", "create", "ci-bot", "--workspace", str(workspace)],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        token = created.stdout.strip()
        # Created while serving: used at once, no restart.
        assert call(search, token=token, body={"query": "rotate the key", "k": 3}) == 200
        assert call(f"{url}/v1/models", token=token) == 200
        assert call(f"{url}/", token=token) in (303, 307, 401)  # a token never opens the page
