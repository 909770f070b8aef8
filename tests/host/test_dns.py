"""`dns` against moto's Route 53 and a loopback IMDSv2 server."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragstream.host import agent, imds
from ragstream.host.aws import Aws
from ragstream.host.config import HostConfig
from ragstream.host.errors import HostError
from ragstream.host.package import build_zipapp
from tests.host.imds_server import ImdsServer

pytestmark = pytest.mark.aws
DOMAIN = "rag.example.com"


@pytest.fixture
def metadata(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImdsServer]:
    with ImdsServer() as server:
        monkeypatch.setenv("RAGSTREAM_IMDS_ENDPOINT", server.url)
        yield server


@pytest.fixture
def zone(aws: Any) -> str:
    response = aws.client("route53").create_hosted_zone(Name="example.com", CallerReference="t1")
    return str(response["HostedZone"]["Id"].split("/")[-1])


@pytest.fixture
def upserts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every change call the agent makes (a spy that still calls through to moto)."""
    calls: list[str] = []
    real = Aws.upsert_a_record

    def spy(self: Aws, zone_id: str, name: str, address: str, ttl: int = 60) -> None:
        calls.append(address)
        real(self, zone_id, name, address, ttl)

    monkeypatch.setattr(Aws, "upsert_a_record", spy)
    return calls


def _config(aws: Any, zone: str | None, **extra: Any) -> HostConfig:
    return HostConfig(
        region=aws.region,
        stack="t",
        image_repository="127.0.0.1:1/r",
        domain=DOMAIN if zone else None,
        hosted_zone_id=zone,
        **extra,
    )


def _record(aws: Any, zone: str) -> tuple[str, int] | None:
    sets = aws.client("route53").list_resource_record_sets(HostedZoneId=zone)
    for record in sets["ResourceRecordSets"]:
        if record["Name"] == DOMAIN + "." and record["Type"] == "A":
            return record["ResourceRecords"][0]["Value"], record["TTL"]
    return None


def test_imds_client_uses_a_session_token(metadata: ImdsServer) -> None:
    assert imds.public_ipv4() == "203.0.113.10"
    assert metadata.requests == [
        "PUT /latest/api/token 200",
        "GET /latest/meta-data/public-ipv4 200",
    ]
    # ...and the stand-in really enforces IMDSv2: a tokenless GET is refused.
    url = metadata.url + "/latest/meta-data/public-ipv4"
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(url, timeout=2)


def test_dns_creates_then_leaves_then_follows_the_address(
    aws: Any, zone: str, metadata: ImdsServer, upserts: list[str]
) -> None:
    config = _config(aws, zone)
    agent.dns(config)
    assert _record(aws, zone) == ("203.0.113.10", 60)
    agent.dns(config)
    assert upserts == ["203.0.113.10"], "the second run must make no change call"
    metadata.public_ipv4 = "198.51.100.7"  # the instance was stopped and started
    agent.dns(config)
    assert _record(aws, zone) == ("198.51.100.7", 60)
    assert upserts == ["203.0.113.10", "198.51.100.7"]


def test_dns_without_a_domain_does_nothing(metadata: ImdsServer, upserts: list[str]) -> None:
    agent.dns(HostConfig(region="eu-west-1", stack="t", image_repository="127.0.0.1:1/r"))
    assert metadata.requests == [] and upserts == []


def test_dns_retries_then_fails_in_one_line_when_imds_is_down(
    aws: Any, zone: str, monkeypatch: pytest.MonkeyPatch, upserts: list[str]
) -> None:
    monkeypatch.setenv("RAGSTREAM_IMDS_ENDPOINT", "http://127.0.0.1:9")  # discard port: closed
    with pytest.raises(HostError, match=r"unreachable.*gave up after 2 attempts") as info:
        agent.dns(_config(aws, zone, retry_attempts=2))
    assert "\n" not in str(info.value)
    assert upserts == [] and _record(aws, zone) is None


def test_dns_recovers_when_imds_answers_on_a_retry(
    aws: Any, zone: str, metadata: ImdsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = imds.public_ipv4
    failures = iter([HostError("instance metadata unreachable (test)")])

    def flaky() -> str:
        error = next(failures, None)
        if error:
            raise error
        return real()

    monkeypatch.setattr(imds, "public_ipv4", flaky)
    agent.dns(_config(aws, zone, retry_attempts=3))
    assert _record(aws, zone) == ("203.0.113.10", 60)


def test_dns_command_from_the_shipped_zipapp(
    aws: Any, zone: str, metadata: ImdsServer, tmp_path: Path
) -> None:
    zipapp = tmp_path / "ragstream-host"
    zipapp.write_bytes(build_zipapp())
    settings = tmp_path / "host.json"
    settings.write_text(_config(aws, zone).to_json())
    command = [sys.executable, str(zipapp), "--config", str(settings), "dns"]
    env = {**os.environ, **aws.env, "RAGSTREAM_IMDS_ENDPOINT": metadata.url}
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "now points at 203.0.113.10" in first.stderr
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert "already points at 203.0.113.10" in second.stderr
