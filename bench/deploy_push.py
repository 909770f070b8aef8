"""How much `ragstream deploy push` saves when the registry already has the image.

Against a real local registry whose htpasswd password is moto's ECR token (as in the
tests), with a small image FROM the test base image: the first push (uploads), then
repeated pushes of the unchanged image: `ragstream deploy push` (checks the digest with
one HEAD per tag, skips) against the runbook's plain `docker login` + `docker push`
(which asks the registry about every layer), interleaved in the same process.

    python bench/deploy_push.py [--repeats 7]      -> bench/results/deploy_push.json
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support.docker import docker, ensure_base_image, free_port, start_registry  # noqa: E402

DOCKERFILE = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo bench > /bench.txt\n"


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("moto did not start")


def timed(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, input=stdin, text=True, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    base = ensure_base_image()
    moto, endpoint = start_moto()
    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "DOCKER_BUILDKIT": "0",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        import boto3

        ecr = boto3.client(
            "ecr",
            region_name="eu-central-1",
            endpoint_url=endpoint,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        password = base64.b64decode(token).decode().partition(":")[2]
        registry = start_registry(password, work / "registry")
        env["RAGSTREAM_DEPLOY_REGISTRY"] = registry.host
        repo = work / "app"
        repo.mkdir()
        (repo / "Dockerfile").write_text(DOCKERFILE)
        git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.org"]
        for args in (["init", "-q"], ["add", "Dockerfile"], ["commit", "-qm", "bench"]):
            subprocess.run(git + args, cwd=repo, check=True)
        deploy = ["ragstream", "deploy"]
        subprocess.run(
            [*deploy, "build", "--build-arg", f"BASE_IMAGE={base}"],
            env=env,
            cwd=repo,
            check=True,
            capture_output=True,
        )
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, text=True, capture_output=True, check=True
        ).stdout.strip()
        image = f"{registry.host}/ragstream-web"
        first = timed([*deploy, "push"], env, repo)
        config = work / "docker-config"
        config.mkdir()
        plain = ["docker", "--config", str(config)]
        skip_times, plain_times, floor_times = [], [], []
        for _ in range(repeats):
            floor_times.append(timed([*deploy, "whoami"], env, repo))
            skip_times.append(timed([*deploy, "push"], env, repo))
            plain_times.append(
                timed(
                    [*plain, "login", "-u", "AWS", "--password-stdin", registry.host],
                    env,
                    repo,
                    stdin=password,
                )
                + timed([*plain, "push", f"{image}:{sha}"], env, repo)
                + timed([*plain, "push", f"{image}:latest"], env, repo)
            )
        result = {
            "what": "push of an unchanged image to a registry that has it (moto token, htpasswd)",
            "repeats": repeats,
            "first_push_s": round(first, 3),
            "ragstream_push_unchanged_median_s": round(statistics.median(skip_times), 3),
            "docker_login_push_unchanged_median_s": round(statistics.median(plain_times), 3),
            "ratio_ragstream_to_docker": round(
                statistics.median(skip_times) / statistics.median(plain_times), 3
            ),
            # the floor of any `ragstream deploy` command: Python, click, boto3, one STS call
            "ragstream_whoami_median_s": round(statistics.median(floor_times), 3),
            "push_unchanged_minus_whoami_median_s": round(
                statistics.median(s - f for s, f in zip(skip_times, floor_times, strict=True)), 3
            ),
            "load_average": os.getloadavg(),
        }
        out = ROOT / "bench" / "results" / "deploy_push.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        docker("rmi", f"{image}:{sha}", f"{image}:latest", check=False)
        registry.stop()
    finally:
        moto.terminate()
        moto.wait(10)


if __name__ == "__main__":
    main()
