"""build + push into a real registry whose login is moto's ECR token (docker + moto)."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.deploy.helpers import DOCKERFILE, git
from tests.support.docker import docker

pytestmark = [pytest.mark.docker, pytest.mark.aws, pytest.mark.slow]


def registry_get(registry, path: str, method: str = "GET"):
    token = base64.b64encode(f"AWS:{registry.password}".encode()).decode()
    request = urllib.request.Request(
        registry.url + path,
        method=method,
        headers={
            "Authorization": f"Basic {token}",
            "Accept": "application/vnd.docker.distribution.manifest.v2+json",
        },
    )
    return urllib.request.urlopen(request, timeout=30)


def test_build_then_push_with_the_ecr_token_and_skip_when_present(
    account, base_image, make_registry, tmp_path, monkeypatch
):
    token = account.aws.client("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(token["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    registry = make_registry(password)

    repo = tmp_path / "app"
    repo.mkdir()
    (repo / "Dockerfile").write_text(DOCKERFILE)
    git(repo, "init", "-q")
    git(repo, "add", "Dockerfile")
    git(repo, "commit", "-qm", "app")
    sha = git(repo, "rev-parse", "HEAD")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")  # the Debian engine here has no buildx
    image = f"{registry.host}/ragstream-web"

    built = account.run("build", "--build-arg", f"BASE_IMAGE={base_image}", registry=registry.host)
    assert built.exit_code == 0, built.output
    assert f"built {image}:{sha}" in built.output
    labels = json.loads(
        docker("image", "inspect", "--format", "{{json .Config.Labels}}", f"{image}:{sha}").stdout
    )
    assert labels["org.opencontainers.image.revision"] == sha
    assert labels["org.opencontainers.image.version"] == sha
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", labels["org.opencontainers.image.created"]
    )
    assert docker("image", "inspect", f"{image}:latest").returncode == 0

    pushed = account.run("push", registry=registry.host)
    assert pushed.exit_code == 0, pushed.output
    digest = re.search(r"^digest (sha256:[0-9a-f]{64})$", pushed.output, re.M).group(1)
    assert f"pushing {image}:{sha}" in pushed.output
    tags = json.load(registry_get(registry, "/v2/ragstream-web/tags/list"))["tags"]
    assert tags == [sha]  # `latest` moves only when a release passed health (release.py)
    head = registry_get(registry, f"/v2/ragstream-web/manifests/{sha}", method="HEAD")
    assert head.headers["Docker-Content-Digest"] == digest

    again = account.run("push", registry=registry.host)
    assert again.exit_code == 0, again.output
    assert "pushing" not in again.output
    assert again.output.count(f"already at {digest}: skipped") == 1
    assert f"digest {digest}" in again.output

    # a dirty tree gets its own tag; the password never shows, and ~/.docker is untouched
    (repo / "Dockerfile").write_text(DOCKERFILE + "LABEL dirty=yes\n")
    dirty = account.run("build", "--build-arg", f"BASE_IMAGE={base_image}", registry=registry.host)
    assert f"built {image}:{sha}-dirty" in dirty.output
    assert account.run("push", registry=registry.host).exit_code == 0
    # a second dirty build of the same commit: said when built, refused when pushed
    (repo / "Dockerfile").write_text(DOCKERFILE + "LABEL dirty=again\n")
    rebuilt = account.run(
        "build", "--build-arg", f"BASE_IMAGE={base_image}", registry=registry.host
    )
    assert f"replacing the local {image}:{sha}-dirty" in rebuilt.output
    refused = account.run("push", registry=registry.host)
    assert refused.exit_code == 1
    assert f"{image}:{sha}-dirty already holds another image" in str(refused.exception)
    for output in (built.output, pushed.output, again.output, dirty.output):
        assert password not in output
    config = Path.home() / ".docker" / "config.json"
    assert not config.exists() or registry.host not in config.read_text()
    docker("rmi", f"{image}:{sha}", f"{image}:{sha}-dirty", f"{image}:latest", check=False)
