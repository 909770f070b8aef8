"""Pieces several deploy test files share: a tiny Dockerfile, git in a scratch repo, and an
instance launched into a stack (moto runs it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

DOCKERFILE = "ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE}\nRUN echo hello > /hello.txt\n"


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    return subprocess.run(
        ["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def launch(aws, ami: str, stack: str) -> str:
    ec2 = aws.client("ec2")
    tags = [{"Key": "ragstream:stack", "Value": stack}]
    found = ec2.run_instances(
        ImageId=ami,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )
    return found["Instances"][0]["InstanceId"]
