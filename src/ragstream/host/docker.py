"""The docker CLI, driven with argv lists (no shell). Secrets go in via stdin or files only."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ragstream.host.errors import HostError, NotYetError

SECRETS_MOUNT = "/run/secrets"


def docker(*args: str, stdin: str | None = None, timeout: float = 900) -> str:
    """Run `docker args...`; return stdout, or raise HostError with docker's last line."""
    try:
        result = subprocess.run(
            ["docker", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HostError(f"docker {args[0]} failed to run ({exc})") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no output"]
        raise HostError(f"docker {args[0]} failed: {lines[-1]}")
    return result.stdout


def login(registry: str, password: str) -> None:
    docker("login", "--username", "AWS", "--password-stdin", registry, stdin=password)


def logout(registry: str) -> None:
    docker("logout", registry)


def image_ref(repository: str, ref: str) -> str:
    """`ref` is a tag ("v1") or a digest ("sha256:...")."""
    return f"{repository}@{ref}" if ref.startswith("sha256:") else f"{repository}:{ref}"


def pull(repository: str, ref: str) -> str:
    """Pull a tag or digest of `repository`; return the repo digest ("sha256:...") or ""."""
    image = image_ref(repository, ref)
    try:
        docker("pull", "--quiet", image)
    except HostError as exc:
        if "manifest unknown" in str(exc) or "not found" in str(exc):
            raise NotYetError(f"{exc} (nothing pushed and released yet?)") from None
        raise
    found = json.loads(docker("image", "inspect", "--format", "{{json .RepoDigests}}", image))
    for entry in found or []:
        name, _, digest = entry.partition("@")
        if name == repository:
            return digest
    return ""


@dataclass(frozen=True)
class RunSpec:
    name: str
    image: str
    host_port: int  # bound on 127.0.0.1 only: the proxy is the only way in
    app_port: int
    data_dir: str
    # (env var, host file): each file is mounted read-only and named by <env var>
    secret_files: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


def run(spec: RunSpec) -> str:
    """Start a detached container; return its id."""
    args = [
        "run",
        "--detach",
        "--name",
        spec.name,
        "--restart",
        "unless-stopped",
        "--publish",
        f"127.0.0.1:{spec.host_port}:{spec.app_port}",
        # --mount (not -v): a missing source is an error, never an empty directory.
        "--mount",
        f"type=bind,source={spec.data_dir},target=/data",
    ]
    for env_name, host_file in spec.secret_files:
        target = f"{SECRETS_MOUNT}/{Path(host_file).name}"
        args += ["--mount", f"type=bind,source={host_file},target={target},readonly"]
        args += ["--env", f"{env_name}={target}"]
    for key, value in spec.labels:
        args += ["--label", f"{key}={value}"]
    return docker(*args, spec.image).strip()


def remove(name: str) -> None:
    """Stop and remove `name` if it exists (10 s grace period for in-flight requests)."""
    if exists(name):
        docker("stop", "--time", "10", name)
        docker("rm", "--force", name)


def exists(name: str) -> bool:
    return bool(docker("ps", "--all", "--quiet", "--filter", f"name=^/{name}$").strip())


def state(name: str) -> dict:
    """`docker inspect` of the container `name`, or {} if it does not exist."""
    if not exists(name):
        return {}
    found: list[dict] = json.loads(docker("inspect", name))
    return found[0] if found else {}
