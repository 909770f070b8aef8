"""Drift that used to leave `plan` at "nothing to do": now seen by plan, repaired by apply."""

from __future__ import annotations

import json

import pytest

from ragstream.deploy.resources import STACK_TAG

pytestmark = pytest.mark.aws

TAGS = [{"Name": f"tag:{STACK_TAG}", "Values": ["rs-test"]}]


def plan_lines(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.output.splitlines() if line.startswith("  + ")]


def test_extra_policy_group_rule_and_moved_instance_are_repaired(account):
    assert account.run("apply").exit_code == 0
    ec2, iam = account.aws.client("ec2"), account.aws.client("iam")
    ours = ec2.describe_security_groups(Filters=TAGS)["SecurityGroups"][0]["GroupId"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    other = ec2.create_security_group(
        GroupName="someone-elses", Description="x", VpcId=vpc["VpcId"]
    )["GroupId"]
    reservations = ec2.describe_instances(
        Filters=[*TAGS, {"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    instance = reservations[0]["Instances"][0]["InstanceId"]

    iam.put_role_policy(
        RoleName="rs-test-instance",
        PolicyName="debugging",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    ec2.authorize_security_group_ingress(
        GroupId=ours,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 0,
                "ToPort": 65535,
                "UserIdGroupPairs": [{"GroupId": other}],
            }
        ],
    )
    ec2.modify_instance_attribute(InstanceId=instance, Groups=[other])

    lines = plan_lines(account.run("plan"))
    assert lines == [
        "+ delete inline policy debugging: from IAM role rs-test-instance (not in the plan)",
        f"+ revoke ingress tcp/0-65535 from security group {other}: on security group "
        "rs-test-web (not in the settings)",
        f"+ update EC2 instance {instance}: security groups {other} -> {ours} (rs-test-web)",
    ]
    applied = account.run("apply")
    assert applied.exit_code == 0, applied.output
    assert plan_lines(account.run("plan")) == []
    assert iam.list_role_policies(RoleName="rs-test-instance")["PolicyNames"] == [
        "ragstream-instance"
    ]
    group = ec2.describe_security_groups(GroupIds=[ours])["SecurityGroups"][0]
    assert all(not p.get("UserIdGroupPairs") for p in group["IpPermissions"])
    found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert [g["GroupId"] for g in found["SecurityGroups"]] == [ours]
