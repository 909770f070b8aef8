"""The host's settings are part of the plan; AMI/user-data changes are replacements."""

from __future__ import annotations

import json

import pytest

from ragstream.deploy.resources import STACK_TAG

pytestmark = pytest.mark.aws

PARAMETER = "/ragstream/rs-test/host-config"


def plan_lines(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.output.splitlines() if line.startswith("  + ")]


def live(ec2):
    found = ec2.describe_instances(
        Filters=[
            {"Name": f"tag:{STACK_TAG}", "Values": ["rs-test"]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )
    return [i for r in found["Reservations"] for i in r["Instances"]]


def test_a_settings_change_reaches_the_running_host(account):
    assert account.run("apply").exit_code == 0
    ssm, ec2 = account.aws.client("ssm"), account.aws.client("ec2")
    stored = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    registry = f"{account.aws.account_id}.dkr.ecr.{account.aws.region}.amazonaws.com"
    assert stored == {
        "domain": None,
        "hosted_zone_id": None,
        "image_repository": f"{registry}/ragstream-web",
        "keep_releases": 20,
        "ssm_parameter": "/ragstream/prod/OPENAI_API_KEY",
    }
    (instance,) = live(ec2)
    flags = {"domain": "rag.example.org", "hosted_zone_id": "Z123"}
    lines = plan_lines(account.run("plan", **flags))
    assert (
        f"+ update host config {PARAMETER}: domain None -> 'rag.example.org'; "
        "hosted_zone_id None -> 'Z123'"
    ) in lines
    assert (
        f"+ reconfigure host(s) {instance['InstanceId']}: the agent takes the new settings "
        "now (dns, then a blue/green start)"
    ) in lines
    applied = account.run("apply", **flags)
    assert applied.exit_code == 0, applied.output
    stored = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert stored["domain"] == "rag.example.org" and stored["hosted_zone_id"] == "Z123"
    sent = [(c["DocumentName"], c["Parameters"]) for c in ssm.list_commands()["Commands"]]
    assert sent == [("rs-test-host-agent", {"action": ["reconfigure"], "ref": [""]})]
    assert plan_lines(account.run("plan", **flags)) == []
    assert [i["InstanceId"] for i in live(ec2)] == [instance["InstanceId"]]  # not replaced


def test_a_new_ami_is_a_replacement_that_keeps_the_data(account):
    assert account.run("apply").exit_code == 0
    ec2, ssm = account.aws.client("ec2"), account.aws.client("ssm")
    (old,) = live(ec2)
    newer = ec2.register_image(Name="ubuntu-24.04-newer", RootDeviceName="/dev/sda1")["ImageId"]
    ssm.put_parameter(Name=account.settings.ami_parameter, Value=newer, Overwrite=True)
    lines = plan_lines(account.run("plan"))
    assert lines == [
        f"+ replace EC2 instance {old['InstanceId']}: AMI {account.ami} -> {newer}: terminates "
        "it and launches a new one (the data volume is kept and reattached)"
    ]
    volume = next(
        m["Ebs"]["VolumeId"] for m in old["BlockDeviceMappings"] if m["DeviceName"] == "/dev/sdf"
    )
    applied = account.run("apply")
    assert applied.exit_code == 0, applied.output
    (new,) = live(ec2)
    assert new["InstanceId"] != old["InstanceId"] and new["ImageId"] == newer
    attached = ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Attachments"]
    assert attached[0]["InstanceId"] == new["InstanceId"]
    assert plan_lines(account.run("plan")) == []


def test_a_new_agent_is_a_replacement_too(account, monkeypatch):
    assert account.run("apply").exit_code == 0
    (old,) = live(account.aws.client("ec2"))
    monkeypatch.setattr("ragstream.host.userdata.bootstrap_fingerprint", lambda: "0123456789abcdef")
    (line,) = plan_lines(account.run("plan"))
    assert line.startswith(f"+ replace EC2 instance {old['InstanceId']}: user data (agent")
    assert "-> 0123456789abcdef: terminates it" in line
