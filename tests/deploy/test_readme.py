"""The README's first deploy, run verbatim (moto's server + a real registry + Docker)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from ragstream.deploy.settings import load_deploy_settings
from tests.deploy.helpers import DOCKERFILE, git
from tests.support.docker import docker

pytestmark = [pytest.mark.aws, pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-readme-5d41402abc4b2a76b9719d911017c592"


def first_bash_block(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"<!-- BEGIN {section} -->", 1)[1].split(f"<!-- END {section} -->", 1)[0]
    block = re.search(r"```bash\n(.*?)```", body, re.S)
    assert block, f"README section {section!r} has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_first_deploy_runs_as_written(aws, base_image, make_registry, tmp_path):
    commands = first_bash_block("deploy")
    assert commands[0].startswith("ragstream deploy init")
    assert commands[-1] == "ragstream deploy status"

    repo = tmp_path / "clone"
    repo.mkdir()
    (repo / "Dockerfile").write_text(DOCKERFILE)
    git(repo, "init", "-q")
    git(repo, "add", "Dockerfile")
    git(repo, "commit", "-qm", "app")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGSTREAM_DEPLOY_")}
    env.update(
        aws.env,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        OPENAI_API_KEY=SECRET,
        DOCKER_BUILDKIT="0",  # the Debian engine here has no buildx
        RAGSTREAM_DEPLOY_BUILD_ARGS=f"BASE_IMAGE={base_image}",
    )
    outputs: dict[str, str] = {}
    for command in commands:
        result = subprocess.run(
            ["bash", "-c", f"set -euo pipefail; {command}"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        problems = re.findall(r"^problem: (.*)$", result.stdout, re.M)
        if command == "ragstream deploy status" and problems:
            # moto's made-up public IP is no instance of ours (here nothing, or some proxy,
            # answers): the URL's health is the one problem status may (and must) report
            assert all(re.match(r"http://[\d.]+ is (unreachable|failing)", p) for p in problems), (
                result.stdout
            )
            assert result.returncode == 1, result.stdout
        else:
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        outputs[command] = result.stdout + result.stderr
        if command.startswith("ragstream deploy init"):
            # What a real account has and moto lacks: Canonical's AMI parameter (moto
            # reserves /aws/*) and ECR's registry endpoint (a local registry with its token).
            region = load_deploy_settings(env={}, path=repo / "ragstream.deploy.toml").region
            session = boto3.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
            )
            ec2 = session.client("ec2", endpoint_url=aws.endpoint_url)
            ami = ec2.register_image(Name="ubuntu-24.04", RootDeviceName="/dev/sda1")["ImageId"]
            ssm = session.client("ssm", endpoint_url=aws.endpoint_url)
            ssm.put_parameter(Name="/test/ubuntu-ami", Value=ami, Type="String")
            token = session.client("ecr", endpoint_url=aws.endpoint_url).get_authorization_token()
            raw = token["authorizationData"][0]["authorizationToken"]
            registry = make_registry(base64.b64decode(raw).decode().partition(":")[2])
            env["RAGSTREAM_DEPLOY_AMI_PARAMETER"] = "/test/ubuntu-ami"
            env["RAGSTREAM_DEPLOY_REGISTRY"] = registry.host

    sha = git(repo, "rev-parse", "HEAD")
    # deploy.yml reads the registry from this line of `whoami`
    assert re.search(r"^registry\s+\S+$", outputs["ragstream deploy whoami"], re.M)
    assert "nothing to do" not in outputs["ragstream deploy plan"]
    assert "done: " in outputs["ragstream deploy apply"]
    assert re.search(r"^digest sha256:[0-9a-f]{64}$", outputs["ragstream deploy push"], re.M)
    assert re.search(r"\] Success \(exit 0\)", outputs["ragstream deploy release"])
    status = outputs["ragstream deploy status"]
    assert re.search(r"^instance\s+i-\w+ \(running\)$", status, re.M), status
    assert re.search(r"^public ip\s+\d+\.\d+\.\d+\.\d+$", status, re.M), status
    assert not [c for c, out in outputs.items() if SECRET in out]
    docker(
        "rmi",
        f"{registry.host}/ragstream-web:{sha}",
        f"{registry.host}/ragstream-web:latest",
        check=False,
    )
