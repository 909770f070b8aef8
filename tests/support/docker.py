"""Shared Docker fixtures: a real engine, a Python base image, a local registry, the app image.

Session-scoped fixtures (import nothing: tests/conftest.py registers this plugin):

    docker_engine -> DockerEngine
        Makes sure `docker info` answers. If no engine runs, starts dockerd in the
        background (overlay2, falling back to vfs), waits, and leaves it running for
        other sessions on the machine. Skips only when dockerd is not installed.
        `DockerEngine.storage_driver` says which driver serves.

    base_image -> str
        Tag of a local Python base image (Debian bookworm minbase + python3, venv, pip,
        ca-certificates), built once with debootstrap + `docker import`, standing in for
        python:3.12-slim which cannot be pulled here. THIS test base (never the project's
        Dockerfile) carries the machine's CA bundle and PIP_CERT, because PyPI traffic
        here goes through an intercepting proxy. Skips the build when the tag exists;
        the rootfs tarball is cached under $RAGSTREAM_TEST_CACHE (default
        ~/.cache/ragstream-tests) so a pruned engine re-imports in seconds.

    make_registry -> Callable[[str], Registry]
        `make_registry(password)` starts `docker-registry serve` on a free 127.0.0.1 port
        with htpasswd (bcrypt) auth for user `AWS` and that password, like ECR's login
        (pass the password moto's `ecr.get_authorization_token` returns). Returns
        Registry(host, port, url, password, stop); `registry.login()` runs
        `docker login` with the password on stdin. All are stopped at session end.

    registry -> Registry
        One such registry with a random password.

    app_image -> str
        Tag of the project's Dockerfile built once per session with
        `--build-arg BASE_IMAGE=<base_image>` (legacy builder; layer cache makes reruns fast).

Tests asking for `base_image` or `app_image` get a 30-minute pytest-timeout (unless they
set their own): a cold build takes minutes on a busy machine.

Helpers for tests and bench/: `docker(*args, input=..., check=..., timeout=...)` runs the
docker CLI and returns the CompletedProcess (text mode); `build_image(tag, context, base,
*extra)`; `ensure_engine()` and `ensure_base_image()` do what the fixtures do, outside pytest.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("RAGSTREAM_TEST_CACHE", Path.home() / ".cache" / "ragstream-tests"))
BASE_TAG = "local/python-base:bookworm"
APP_TAG = "ragstream-local:test"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DOCKERD_LOG = Path("/tmp/dockerd.log")


def docker(
    *args: str, input: str | None = None, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI (legacy builder: the Debian engine has no buildx)."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    result = subprocess.run(
        ["docker", *args], input=input, capture_output=True, text=True, timeout=timeout, env=env
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()[-2000:]}")
    return result


@contextlib.contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Serialise with other pytest sessions on this machine (several engineers share it)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# A cold build of the app image (or the base image) can outlast pytest-timeout's default
# on a busy 2-core machine; whichever test first asks for one gets this much time.
SLOW_FIXTURE_TIMEOUT = 1800


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & {"app_image", "base_image"} and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_FIXTURE_TIMEOUT))


# --- engine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerEngine:
    storage_driver: str


def _engine_answers() -> str | None:
    """The storage driver if an engine answers, else None."""
    try:
        result = docker("info", "--format", "{{.Driver}}", check=False, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _start_dockerd(driver: str, wait: float = 60) -> bool:
    command = [
        "dockerd",
        "--data-root=/var/lib/docker",
        "--exec-root=/run/docker-exec",
        "-H",
        "unix:///run/docker.sock",
        "--pidfile=/run/dockerd.pid",
        f"--storage-driver={driver}",
    ]
    with open(DOCKERD_LOG, "ab") as log:
        # A new session: the daemon outlives this pytest run and serves the others.
        process = subprocess.Popen(
            command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _engine_answers():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.5)
    process.terminate()
    return False


def ensure_engine() -> DockerEngine | None:
    """The running engine, starting dockerd if needed; None if it is not installed."""
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        return None
    with machine_lock("dockerd"):
        driver = _engine_answers()
        if driver is None:
            for candidate in ("overlay2", "vfs"):
                if _start_dockerd(candidate):
                    break
            driver = _engine_answers()
        if driver is None:
            raise RuntimeError(f"dockerd is installed but did not start; see {DOCKERD_LOG}")
    return DockerEngine(storage_driver=driver)


@pytest.fixture(scope="session")
def docker_engine() -> DockerEngine:
    engine = ensure_engine()
    if engine is None:
        pytest.skip("dockerd/docker not installed (apt-get install docker.io)")
    return engine


# --- base image -----------------------------------------------------------------------


def _image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False, timeout=30).returncode == 0


def _build_rootfs_tarball(tarball: Path) -> None:
    """debootstrap a minimal bookworm with Python and pack it; written atomically."""
    if shutil.which("debootstrap") is None:
        raise FileNotFoundError("debootstrap not installed (apt-get install debootstrap)")
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=CACHE))
    try:
        rootfs = work / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,python3-pip,ca-certificates",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        for cache_dir in ("var/cache/apt", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / cache_dir, ignore_errors=True)
            (rootfs / cache_dir).mkdir(parents=True)
        # The machine's bundle (with the proxy's CA) replaces Debian's, in this test base only.
        shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], check=True
        )
        partial.rename(tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_base_image(tag: str = BASE_TAG) -> str:
    with machine_lock("base-image"):
        if _image_exists(tag):
            return tag
        tarball = CACHE / "python-base-bookworm.tar"
        if not tarball.exists():
            _build_rootfs_tarball(tarball)
        docker(
            "import",
            "-c",
            'CMD ["/bin/bash"]',
            "-c",
            "ENV LANG=C.UTF-8",
            "-c",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            str(tarball),
            tag,
        )
    return tag


@pytest.fixture(scope="session")
def base_image(docker_engine: DockerEngine) -> str:
    try:
        return ensure_base_image()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


# --- registry -------------------------------------------------------------------------


@dataclass
class Registry:
    host: str  # "127.0.0.1:PORT", the name to tag and push with
    port: int
    url: str  # "http://127.0.0.1:PORT"
    password: str = field(repr=False)
    stop: Callable[[], None] = field(repr=False)
    user: str = "AWS"

    def login(self) -> None:
        docker("login", "-u", self.user, "--password-stdin", self.host, input=self.password)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _htpasswd_line(user: str, password: str) -> str:
    # -i reads the password from stdin: it never reaches argv.
    result = subprocess.run(
        ["htpasswd", "-niB", user], input=password, capture_output=True, text=True, check=True
    )
    return result.stdout.strip() + "\n"


def start_registry(password: str, workdir: Path) -> Registry:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed (apt-get install docker-registry)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "htpasswd").write_text(_htpasswd_line("AWS", password))
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', secret: {secrets.token_hex(16)}}}\n"
        f"auth: {{htpasswd: {{realm: ragstream-test, path: {workdir / 'htpasswd'}}}}}\n"
    )
    log = open(workdir / "registry.log", "ab")  # noqa: SIM115 (closed by stop)
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
    )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/v2/", timeout=2)
            break
        except urllib.error.HTTPError:  # 401: up and asking for credentials
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop()
                raise RuntimeError(
                    f"registry did not start; see {workdir / 'registry.log'}"
                ) from None
            time.sleep(0.2)
    return Registry(host=f"127.0.0.1:{port}", port=port, url=url, password=password, stop=stop)


@pytest.fixture(scope="session")
def make_registry(
    docker_engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Registry]]:
    started: list[Registry] = []

    def make(password: str) -> Registry:
        registry = start_registry(password, tmp_path_factory.mktemp("registry"))
        started.append(registry)
        return registry

    yield make
    for registry in started:
        registry.stop()


@pytest.fixture(scope="session")
def registry(make_registry: Callable[[str], Registry]) -> Registry:
    return make_registry(secrets.token_urlsafe(24))


# --- the project's image --------------------------------------------------------------


def build_image(
    tag: str, context: Path, base: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return docker(
        "build", "--build-arg", f"BASE_IMAGE={base}", "-t", tag, *extra, str(context), timeout=1200
    )


@pytest.fixture(scope="session")
def app_image(base_image: str) -> str:
    with machine_lock("app-image"):
        build_image(APP_TAG, ROOT, base_image)
    return APP_TAG
