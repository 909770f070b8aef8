"""Build the image (tags <git-sha>[-dirty] and latest, OCI labels) and push it to ECR.

The ECR token goes to `docker login` on stdin, into a throwaway DOCKER_CONFIG directory
that is deleted afterwards: the password never reaches argv or ~/.docker. A tag whose
digest the registry already has is not pushed again.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ragstream.errors import DeployError

if TYPE_CHECKING:
    from ragstream.deploy.deployer import Deployer

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def _run(args: list[str], what: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    try:
        result = subprocess.run(
            args, input=stdin, capture_output=True, text=True, cwd=cwd, check=False, timeout=3600
        )
    except FileNotFoundError:
        raise DeployError(f"{args[0]} is not installed: it is needed to {what}") from None
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise DeployError(f"could not {what}: {last[0]}")
    return result.stdout


def git_tag(directory: Path = Path(".")) -> str:
    """The commit's full SHA, plus `-dirty` when tracked files have uncommitted changes."""
    sha = _run(
        ["git", "rev-parse", "HEAD"], "read the git commit (run inside the repo)", cwd=directory
    )
    dirty = _run(
        ["git", "status", "--porcelain", "--untracked-files=no"], "read git status", cwd=directory
    )
    return sha.strip() + ("-dirty" if dirty.strip() else "")


def _source_url(directory: Path) -> str | None:
    try:
        url = _run(["git", "remote", "get-url", "origin"], "read the remote", cwd=directory).strip()
    except DeployError:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.password or parts.username:  # never bake a token from the remote URL into a label
        url = parts._replace(netloc=parts.hostname or "").geturl()
    return url


def labels(directory: Path, tag: str) -> dict[str, str]:
    found = {
        "org.opencontainers.image.revision": tag.removesuffix("-dirty"),
        "org.opencontainers.image.version": tag,
        "org.opencontainers.image.created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.title": "ragstream",
    }
    source = _source_url(directory)
    if source:
        found["org.opencontainers.image.source"] = source
    return found


def build_image(
    image: str,
    context: Path,
    build_args: list[str],
    echo: Callable[[str], None],
    cache_from: str | None = None,
) -> str:
    """docker build -t image:<tag> -t image:latest; returns image:<tag>."""
    tag = git_tag(context)
    args = ["docker", "build", "-t", f"{image}:{tag}", "-t", f"{image}:latest"]
    for key, value in labels(context, tag).items():
        args += ["--label", f"{key}={value}"]
    for build_arg in build_args:
        if "=" not in build_arg:
            raise DeployError(f"--build-arg {build_arg!r}: write it as KEY=VALUE")
        args += ["--build-arg", build_arg]
    if cache_from:
        args += ["--cache-from", cache_from]
    if tag.endswith("-dirty") and _exists(f"{image}:{tag}"):
        echo(f"note: replacing the local {image}:{tag} (an earlier build of uncommitted changes)")
    echo(f"building {image}:{tag} from {context}")
    _run([*args, str(context)], "build the image")
    return f"{image}:{tag}"


def _exists(image: str) -> bool:
    found = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    return found.returncode == 0


def ecr_login(deployer: Deployer) -> tuple[str, str]:
    """(user, password) from ecr.get_authorization_token (valid 12 hours)."""
    data = deployer.clients.ecr.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return user, password


def _registry_call(
    registry: str,
    path: str,
    auth: tuple[str, str],
    method: str = "GET",
    data: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One registry v2 API call (basic auth with the ECR token): status, headers, body."""
    local = re.match(r"^(127\.|localhost[:/]|\[::1\])", registry)
    url = f"{'http' if local else 'https'}://{registry}/v2/{path}"
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": MANIFEST_TYPES}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return 404, {}, b""
        raise DeployError(f"registry {registry} answered HTTP {exc.code} for {path}") from None
    except OSError as exc:
        raise DeployError(f"cannot reach registry {registry}: {exc}") from None


def remote_digest(registry: str, repository: str, tag: str, auth: tuple[str, str]) -> str | None:
    """The digest the registry has under `tag` (registry v2 API, HEAD), or None."""
    status, headers, _ = _registry_call(registry, f"{repository}/manifests/{tag}", auth, "HEAD")
    return None if status == 404 else headers.get("Docker-Content-Digest")


def promote(deployer: Deployer, digest: str, tag: str = "latest") -> bool:
    """Point `tag` at `digest` (same manifest, no layer moves); False if already there.

    Called only after a host reported `digest` healthy and serving: whatever boots from
    `tag` (a new instance, one that lost its state) gets an image that passed its check.
    """
    registry, repository = deployer.registry, deployer.settings.repository
    auth = ecr_login(deployer)
    if remote_digest(registry, repository, tag, auth) == digest:
        return False
    status, headers, body = _registry_call(registry, f"{repository}/manifests/{digest}", auth)
    if status == 404:
        raise DeployError(f"{registry}/{repository}@{digest} is not in the registry")
    kind = headers.get("Content-Type") or "application/vnd.docker.distribution.manifest.v2+json"
    _registry_call(registry, f"{repository}/manifests/{tag}", auth, "PUT", body, kind)
    return True


def local_digest(image: str, repository_ref: str) -> str | None:
    """The digest this local image had when last pushed to (or pulled from) `repository_ref`."""
    out = _run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image],
        f"find the local image {image} (run `ragstream deploy build` first)",
    )
    for entry in json.loads(out) or []:
        name, _, digest = entry.partition("@")
        if name == repository_ref:
            return digest
    return None


def push_image(deployer: Deployer, tag: str, echo: Callable[[str], None]) -> str:
    """Push image:<tag> (skipped when the registry has it at this digest); return the digest.

    `latest` is not moved here: `release` moves it once a host has run the image healthy.
    """
    registry, repository = deployer.registry, deployer.settings.repository
    ref = f"{registry}/{repository}"
    auth = ecr_login(deployer)
    digest = local_digest(f"{ref}:{tag}", ref)
    remote = remote_digest(registry, repository, tag, auth)
    if digest and remote == digest:
        echo(f"{ref}:{tag} already at {digest}: skipped")
        return digest
    if remote and tag.endswith("-dirty"):
        # Two dirty builds of one commit share a tag: never replace one silently.
        raise DeployError(
            f"{ref}:{tag} already holds another image ({remote}): commit your changes "
            "(a new commit is a new tag), or delete that tag in the repository first"
        )
    with tempfile.TemporaryDirectory(prefix="ragstream-docker-") as config:
        _run(
            ["docker", "--config", config, "login", "-u", auth[0], "--password-stdin", registry],
            f"log in to {registry}",
            stdin=auth[1],
        )
        echo(f"pushing {ref}:{tag}")
        output = _run(["docker", "--config", config, "push", f"{ref}:{tag}"], f"push {ref}:{tag}")
        found = re.search(r"digest: (sha256:[0-9a-f]{64})", output)
        digest = found.group(1) if found else local_digest(f"{ref}:{tag}", ref)
    if not digest:
        raise DeployError(f"pushed {ref}:{tag} but the registry reported no digest")
    return digest
