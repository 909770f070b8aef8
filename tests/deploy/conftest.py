"""Deploy test helpers: a moto account with an "Ubuntu" AMI parameter, and a CLI runner.

moto reserves /aws/* parameter names, so tests point `ami_parameter` at their own name
holding one of moto's AMIs; the Canonical default is checked by a unit test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ragstream.cli import cli
from ragstream.deploy.settings import DeploySettings

AMI_PARAMETER = "/test/ubuntu-24.04/ami-id"


@dataclass
class DeployAccount:
    aws: Any
    ami: str
    settings: DeploySettings

    def run(self, *args: str, input: str | None = None, **flags: str) -> Result:
        """`ragstream deploy <args>` in-process, with this account's settings as flags."""
        options = [f"--{k.replace('_', '-')}={v}" for k, v in flags.items()]
        base = [
            "deploy",
            f"--region={self.settings.region}",
            f"--stack={self.settings.stack}",
            f"--ami-parameter={AMI_PARAMETER}",
        ]
        return CliRunner().invoke(cli, [*base, *options, *args], input=input)


@pytest.fixture
def account(aws: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> DeployAccount:
    monkeypatch.chdir(tmp_path)  # no ragstream.deploy.toml from the repository leaks in
    for name in list(__import__("os").environ):
        if name.startswith("RAGSTREAM_DEPLOY_"):
            monkeypatch.delenv(name)
    ec2 = aws.client("ec2")
    ami = ec2.register_image(Name="ubuntu-24.04-test", RootDeviceName="/dev/sda1")["ImageId"]
    aws.client("ssm").put_parameter(Name=AMI_PARAMETER, Value=ami, Type="String")
    settings = DeploySettings(region=aws.region, ami_parameter=AMI_PARAMETER, stack="rs-test")
    return DeployAccount(aws=aws, ami=ami, settings=settings)
