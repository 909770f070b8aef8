"""Fixtures for the host agent on a real engine: test images in a real registry (with
ECR's login, checked against moto's token), a real Caddy in front, the shipped zipapp.

Names, ports and directories carry a per-session id, so engineers sharing this Docker
engine never collide. The key file lives on /dev/shm (tmpfs, like /run on Ubuntu).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ragstream.host.config import HostConfig
from ragstream.host.package import build_zipapp
from tests.host.site import (
    MOTO_ECR_PASSWORD,
    SESSION,
    TAGS,
    TESTAPP,
    Site,
    caddy_env,
    docker_as,
    start_caddy,
)
from tests.support.docker import Registry, build_image, free_port


@pytest.fixture(scope="session")
def docker_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private docker client config: our logins never touch ~/.docker of others."""
    return tmp_path_factory.mktemp("docker-config")


@pytest.fixture(scope="session")
def ecr_registry(make_registry: Callable[[str], Registry]) -> Registry:
    return make_registry(MOTO_ECR_PASSWORD)


@pytest.fixture(scope="session")
def host_images(base_image: str, ecr_registry: Registry, docker_config: Path) -> Iterator[str]:
    """Push the test app as good-1, good-2 (healthy) and bad (never healthy); return the repo."""
    docker = docker_as(docker_config)
    repository = f"{ecr_registry.host}/rs-host-{SESSION}/app"
    docker("login", "-u", "AWS", "--password-stdin", ecr_registry.host, stdin=MOTO_ECR_PASSWORD)
    for tag, healthy in TAGS.items():
        build_image(
            f"{repository}:{tag}",
            TESTAPP,
            base_image,
            "--build-arg",
            f"APP_VERSION={tag}",
            "--build-arg",
            f"APP_HEALTHY={healthy}",
        )
        docker("push", f"{repository}:{tag}")
        docker("rmi", f"{repository}:{tag}")  # the agent must pull it for real
    yield repository
    # What the agents pulled (by tag or digest): leave the shared engine as we found it.
    pulled = docker("images", "--quiet", "--filter", f"reference={repository}").split()
    if pulled:
        subprocess.run(["docker", "rmi", "--force", *set(pulled)], capture_output=True)


@pytest.fixture(scope="session")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agent") / "ragstream-host"
    path.write_bytes(build_zipapp())
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def site_base(
    host_images: str,
    zipapp: Path,
    docker_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("site")
    module_id = f"{SESSION}-{secrets.token_hex(2)}"
    secrets_dir = Path("/dev/shm") / f"rs-host-{module_id}"
    config = HostConfig(
        region="eu-west-1",
        stack=f"rs-host-{module_id}",
        image_repository=host_images,
        ssm_parameter=f"/rs-host-{module_id}/OPENAI_API_KEY",
        image_tag="good-1",
        data_dir=str(work / "data"),
        state_dir=str(work / "state"),
        secrets_dir=str(secrets_dir),
        container_name=f"rs-host-{module_id}",
        blue_port=free_port(),
        green_port=free_port(),
        health_timeout=10.0,
        caddyfile=str(work / "Caddyfile"),
        proxy_admin=f"127.0.0.1:{free_port()}",
        http_port=free_port(),
    )
    config_path = work / "host.json"
    config_path.write_text(config.to_json())
    # A test module may name the Caddy it needs (CADDY = path); else caddy_binary()'s.
    caddy = start_caddy(config, work, getattr(request.module, "CADDY", None))
    # The agent's own docker client config, apart from the one that pushed the images.
    env = {**os.environ, "DOCKER_CONFIG": str(work / "agent-docker")}
    env = caddy_env(caddy.args[0], env)  # type: ignore[index]
    try:
        yield Site(config=config, config_path=config_path, zipapp=zipapp, env=env)
    finally:
        caddy.terminate()
        caddy.wait(10)
        for slot in ("blue", "green"):
            subprocess.run(
                ["docker", "rm", "-f", f"{config.container_name}-{slot}"], capture_output=True
            )
        shutil.rmtree(secrets_dir, ignore_errors=True)


@pytest.fixture
def site(site_base: Site, aws: Any) -> Site:
    """The site with a fresh moto account holding the key (moto is reset for every test)."""
    key = "sk-test-" + secrets.token_hex(20)
    assert site_base.config.ssm_parameter
    aws.client("ssm").put_parameter(
        Name=site_base.config.ssm_parameter, Value=key, Type="SecureString"
    )
    return replace(site_base, env={**site_base.env, **aws.env}, key=key)
