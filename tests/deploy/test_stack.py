"""plan/apply/destroy against moto's server: creates, idempotence, drift repair, teardown."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from ragstream.deploy.resources import STACK_TAG

pytestmark = pytest.mark.aws

TAG_FILTER = [{"Name": f"tag:{STACK_TAG}", "Values": ["rs-test"]}]


def plan_lines(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.output.splitlines() if line.startswith("  + ")]


def instances(ec2, states=("pending", "running", "stopped")):
    found = ec2.describe_instances(
        Filters=[*TAG_FILTER, {"Name": "instance-state-name", "Values": list(states)}]
    )
    return [i for r in found["Reservations"] for i in r["Instances"]]


def test_plan_apply_is_idempotent_and_repairs_drift(account):
    first = plan_lines(account.run("plan"))
    assert first == [
        "+ create ECR repository ragstream-web: scan on push, lifecycle policy",
        "+ create IAM role rs-test-instance: trust ec2.amazonaws.com",
        "+ create inline policy ragstream-instance: of IAM role rs-test-instance",
        "+ create instance profile rs-test-instance",
        "+ add role rs-test-instance: to instance profile rs-test-instance",
        "+ create host config /ragstream/rs-test/host-config: the deployed settings",
        "+ create SSM document rs-test-host-agent: runs only "
        "`ragstream-host release|rollback|status|reconfigure`",
        "+ create security group rs-test-web: in the default VPC",
        "+ authorize ingress tcp/80 from 0.0.0.0/0: on security group rs-test-web",
        f"+ create EC2 instance rs-test: t3.small, {account.ami}, gp3 encrypted 16 GB root, "
        "new data volume 20 GB (kept on termination), IMDSv2",
    ]
    ec2 = account.aws.client("ec2")
    assert instances(ec2) == [], "plan must not create anything"

    assert account.run("plan", "--detailed-exitcode").exit_code == 2  # changes pending

    applied = account.run("apply")
    assert applied.exit_code == 0, applied.output
    assert "done: 10 change(s)" in applied.output
    assert account.run("plan", "--detailed-exitcode").exit_code == 0
    again = account.run("plan")
    assert plan_lines(again) == []
    assert "nothing to do" in again.output

    (instance,) = instances(ec2)
    assert instance["InstanceType"] == "t3.small"
    assert instance["ImageId"] == account.ami
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert instance["IamInstanceProfile"]["Arn"].endswith(":instance-profile/rs-test-instance")
    volumes = ec2.describe_volumes(Filters=TAG_FILTER)["Volumes"]
    assert sorted(v["Size"] for v in volumes) == [16, 20]
    assert all(v["Encrypted"] and v["VolumeType"] == "gp3" for v in volumes)
    raw = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
    user_data = gzip.decompress(base64.b64decode(raw["UserData"]["Value"])).decode()
    assert user_data.startswith("#cloud-config")
    host = json.loads(
        next(
            f["content"]
            for f in json.loads(user_data.split("\n", 1)[1])["write_files"]
            if f["path"] == "/etc/ragstream/host.json"
        )
    )
    registry = f"{account.aws.account_id}.dkr.ecr.{account.aws.region}.amazonaws.com"
    assert host["image_repository"] == f"{registry}/ragstream-web"
    assert host["stack"] == "rs-test" and host["region"] == account.aws.region

    ecr = account.aws.client("ecr")
    repo = ecr.describe_repositories(repositoryNames=["ragstream-web"])["repositories"][0]
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    rules = json.loads(
        ecr.get_lifecycle_policy(repositoryName="ragstream-web")["lifecyclePolicyText"]
    )
    assert {r["selection"]["tagStatus"] for r in rules["rules"]} == {"untagged", "tagged"}

    # drift behind our back: a deleted rule, an added rule, a changed inline policy
    iam = account.aws.client("iam")
    group = ec2.describe_security_groups(Filters=TAG_FILTER)["SecurityGroups"][0]
    port80 = {
        "IpProtocol": "tcp",
        "FromPort": 80,
        "ToPort": 80,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    }
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[port80])
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[ssh])
    iam.put_role_policy(
        RoleName="rs-test-instance",
        PolicyName="ragstream-instance",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )

    assert account.run("plan", "--detailed-exitcode").exit_code == 2  # drift
    assert plan_lines(account.run("plan")) == [
        "+ update inline policy ragstream-instance: of IAM role rs-test-instance",
        "+ authorize ingress tcp/80 from 0.0.0.0/0: on security group rs-test-web",
        "+ revoke ingress tcp/22 from 0.0.0.0/0: on security group rs-test-web (not in the settings)",
    ]
    assert account.run("apply").exit_code == 0
    assert plan_lines(account.run("plan")) == []
    group = ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"][0]
    assert [(p["FromPort"], p["IpRanges"]) for p in group["IpPermissions"]] == [
        (80, [{"CidrIp": "0.0.0.0/0"}])
    ]
    policy = iam.get_role_policy(RoleName="rs-test-instance", PolicyName="ragstream-instance")
    assert "s3:*" not in json.dumps(policy["PolicyDocument"])

    # a settings change is a plan too
    lines = plan_lines(
        account.run(
            "plan", domain="rag.example.org", hosted_zone_id="Z123", allowed_cidr="203.0.113.0/24"
        )
    )
    assert "+ authorize ingress tcp/443 from 203.0.113.0/24: on security group rs-test-web" in lines
    assert (
        "+ revoke ingress tcp/80 from 0.0.0.0/0: on security group rs-test-web (not in the settings)"
        in lines
    )
    assert "+ update inline policy ragstream-instance: of IAM role rs-test-instance" in lines

    # a new instance type is a resize in place (stop, modify, start), not a new instance
    assert plan_lines(account.run("plan", instance_type="t3.medium")) == [
        f"+ resize EC2 instance {instance['InstanceId']}: t3.small -> t3.medium (stops and starts it)"
    ]
    assert account.run("apply", instance_type="t3.medium").exit_code == 0
    (resized,) = instances(ec2)
    assert (resized["InstanceId"], resized["InstanceType"]) == (instance["InstanceId"], "t3.medium")
    assert resized["State"]["Name"] == "running"
    assert plan_lines(account.run("plan", instance_type="t3.medium")) == []


def test_elastic_ip_then_destroy_leaves_nothing_tagged(account):
    result = account.run("--elastic-ip", "apply")
    assert result.exit_code == 0, result.output
    ec2 = account.aws.client("ec2")
    (address,) = ec2.describe_addresses(Filters=TAG_FILTER)["Addresses"]
    assert address["InstanceId"] == instances(ec2)[0]["InstanceId"]
    assert plan_lines(account.run("--elastic-ip", "plan")) == []
    assert plan_lines(account.run("plan")) == [
        f"+ release Elastic IP {address['PublicIp']}: elastic_ip is off"
    ]

    refused = account.run("destroy", input="wrong\n")
    assert refused.exit_code != 0 and "nothing was deleted" in refused.output
    assert len(instances(account.aws.client("ec2"))) == 1

    result = account.run("destroy", input="rs-test\n")
    assert result.exit_code == 0, result.output
    ec2, iam = account.aws.client("ec2"), account.aws.client("iam")
    assert instances(ec2, states=("pending", "running", "stopping", "stopped")) == []
    assert ec2.describe_security_groups(Filters=TAG_FILTER)["SecurityGroups"] == []
    assert ec2.describe_addresses(Filters=TAG_FILTER)["Addresses"] == []
    # the data volume outlives the stack unless --all (see test_data_volume.py)
    assert [
        v["Size"]
        for v in ec2.describe_volumes(Filters=TAG_FILTER)["Volumes"]
        if v["State"] != "deleted"
    ] == [20]
    role_names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert not any(name.startswith("rs-test") for name in role_names)
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    # kept without --all: the images and the key
    assert account.aws.client("ecr").describe_repositories()["repositories"]
    assert account.run("destroy", "--all", "--confirm", "rs-test").exit_code == 0
    assert account.aws.client("ecr").describe_repositories()["repositories"] == []
    assert "nothing to destroy" in account.run("destroy").output
