"""`ragstream deploy release/rollback` joined to the real agent (moto + engine + Caddy).

moto records send_command but runs nothing: tests/host/ssm_local.py runs the command the
document renders from the parameters moto received, with the real zipapp, here.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.deploy.document import document, document_name
from ragstream.host.config import HostConfig
from tests.host.site import MOTO_ECR_PASSWORD, Site
from tests.host.ssm_local import run_commands_locally

pytestmark = [pytest.mark.docker, pytest.mark.aws, pytest.mark.slow]


def registry_digest(site: Site, tag: str) -> str | None:
    host, repository = site.config.image_repository.split("/", 1)
    token = base64.b64encode(f"AWS:{MOTO_ECR_PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={
            "Authorization": f"Basic {token}",
            "Accept": "application/vnd.docker.distribution.manifest.v2+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        return None


class Stack:
    """The deploy CLI pointed at the site: same stack, registry and repository."""

    def __init__(self, site: Site, aws: Any) -> None:
        self.site = site
        ec2 = aws.client("ec2")
        ami = ec2.register_image(Name="ubuntu", RootDeviceName="/dev/sda1")["ImageId"]
        tags = [{"Key": "ragstream:stack", "Value": site.config.stack}]
        launched = ec2.run_instances(
            ImageId=ami,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.small",
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        self.instance_id = launched["Instances"][0]["InstanceId"]
        # what `apply` makes: the stack's own SSM document (only the agent's actions)
        aws.client("ssm").create_document(
            Name=document_name(site.config.stack),
            Content=json.dumps(document()),
            DocumentType="Command",
            DocumentFormat="JSON",
        )

    def run(self, *args: str) -> Any:
        host, repository = self.site.config.image_repository.split("/", 1)
        base = [
            "deploy",
            f"--region={self.site.config.region}",
            f"--stack={self.site.config.stack}",
            f"--registry={host}",
            f"--repository={repository}",
            f"--ssm-parameter={self.site.config.ssm_parameter}",
        ]
        return CliRunner().invoke(cli, [*base, *args])


@pytest.fixture
def stack(site: Site, aws: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Stack:
    monkeypatch.chdir(tmp_path)  # no ragstream.deploy.toml leaks in
    return Stack(site, aws)


def test_latest_moves_only_to_what_passed_health(stack: Stack, monkeypatch) -> None:
    site = stack.site
    runs = run_commands_locally(monkeypatch, site)
    assert site.agent("start").returncode == 0  # the instance's first boot: good-1
    assert registry_digest(site, "latest") is None

    released = stack.run("release", "--tag", "good-2")
    assert released.exit_code == 0, released.output
    assert f"[{stack.instance_id}] Success (exit 0)" in released.output
    good2 = re.search(r"released good-2 (sha256:[0-9a-f]{64})", released.output).group(1)
    assert f"latest -> {good2}" in released.output
    assert registry_digest(site, "latest") == good2 == registry_digest(site, "good-2")
    assert site.get() == (200, "good-2")
    assert runs[-1]["params"]["InstanceIds"] == [stack.instance_id]
    assert runs[-1]["params"]["DocumentName"] == document_name(site.config.stack)
    assert runs[-1]["params"]["Parameters"] == {"action": ["release"], "ref": ["good-2"]}

    failed = stack.run("release", "--tag", "bad")
    assert failed.exit_code == 1
    assert f"release failed on {stack.instance_id}" in failed.output
    assert "latest ->" not in failed.output
    assert registry_digest(site, "latest") == good2, "latest moved to an unhealthy image"

    # a new (or state-less) host boots `latest`: the last image that passed health
    fresh = replace(site.config, state_dir=site.config.state_dir + "-fresh", image_tag="latest")
    booted = site.agent("start", config=fresh)
    assert booted.returncode == 0, booted.stderr
    assert site.get() == (200, "good-2")


def test_rollback_to_any_kept_good_release(stack: Stack, monkeypatch) -> None:
    site = stack.site
    run_commands_locally(monkeypatch, site)
    assert site.agent("release", "--tag", "good-2").returncode == 0
    good = {r["tag"]: r["digest"] for r in _good(site)}
    assert list(good) == ["good-2", "good-1"]  # newest first, the failed `bad` not among them

    back = stack.run("rollback", "--to", "good-1")
    assert back.exit_code == 0, back.output
    assert site.get() == (200, "good-1")
    assert f"latest -> {good['good-1']}" in back.output

    by_digest = stack.run("rollback", "--to", good["good-2"])
    assert by_digest.exit_code == 0, by_digest.output
    assert site.get() == (200, "good-2")

    refused = stack.run("rollback", "--to", "bad")
    assert refused.exit_code == 1
    assert "bad is not among the last good releases kept here (good-2, good-1)" in refused.output
    assert site.get() == (200, "good-2")


def _good(site: Site) -> list[dict[str, str]]:
    state = json.loads((Path(site.config.state_dir) / "release.json").read_text())
    return list(state["good"])


def test_the_agent_takes_deployed_settings_at_each_release(site: Site, aws: Any) -> None:
    """`deploy apply` changed the key parameter: the next release uses it, host.json follows."""
    ssm = aws.client("ssm")
    new_key = "sk-rotated-" + "7" * 20
    ssm.put_parameter(Name="/rs-host-e2e/NEW_KEY", Value=new_key, Type="SecureString")
    parameter = f"/ragstream/{site.config.stack}/host-config"
    config = replace(site.config, config_parameter=parameter)
    deployed = replace(config, ssm_parameter="/rs-host-e2e/NEW_KEY")
    ssm.put_parameter(Name=parameter, Value=deployed.deployed_json(), Type="String")
    path = site.write_config(config)

    result = subprocess.run(
        [sys.executable, str(site.zipapp), "--config", str(path), "release", "--tag", "good-1"],
        capture_output=True,
        text=True,
        env=site.env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (Path(site.config.secrets_dir) / "openai_api_key").read_text() == new_key
    assert HostConfig.load(path).ssm_parameter == "/rs-host-e2e/NEW_KEY"
    assert f"settings from {parameter} applied" in result.stderr
    assert new_key not in result.stdout + result.stderr
