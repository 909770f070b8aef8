"""The shared Docker fixtures do what their docstring promises (real engine, real registry)."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid
from collections.abc import Callable

import pytest

from tests.support.docker import Registry, docker

pytestmark = pytest.mark.docker


def tiny_image(content: str) -> str:
    """A one-file image made by `docker import`: pushes in well under a second."""
    tag = f"ragstream-fixture-test:{uuid.uuid4().hex[:12]}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = content.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    subprocess.run(
        ["docker", "import", "-", tag], input=buffer.getvalue(), check=True, capture_output=True
    )
    return tag


def test_base_image_has_python_venv_and_pip(base_image: str) -> None:
    result = docker(
        "run",
        "--rm",
        base_image,
        "sh",
        "-c",
        "python3 -m venv /tmp/v && /tmp/v/bin/pip --version && echo $PIP_CERT",
    )
    assert "python 3." in result.stdout
    assert result.stdout.strip().endswith("/etc/ssl/certs/ca-certificates.crt")


def test_registry_requires_the_password(make_registry: Callable[[str], Registry]) -> None:
    registry = make_registry("s3cret-token-value")
    image = tiny_image("registry test")
    remote = f"{registry.host}/fixture-test:{image.rsplit(':', 1)[1]}"
    docker("tag", image, remote)
    try:
        docker("logout", registry.host, check=False)
        unauthenticated = docker("push", remote, check=False)
        assert unauthenticated.returncode != 0
        assert "no basic auth credentials" in unauthenticated.stderr

        wrong = docker(
            "login", "-u", "AWS", "--password-stdin", registry.host, input="wrong", check=False
        )
        assert wrong.returncode != 0

        registry.login()
        pushed = docker("push", remote)
        assert "digest: sha256:" in pushed.stdout
        docker("rmi", remote)
        docker("pull", remote)
    finally:
        docker("rmi", "-f", remote, image, check=False)
        docker("logout", registry.host, check=False)


def test_default_registry_answers_v2_with_auth_challenge(registry: Registry) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(registry.url + "/v2/", timeout=5)
    assert excinfo.value.code == 401
    assert registry.user == "AWS" and registry.password
