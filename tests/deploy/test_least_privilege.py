"""What the instance role may really do, evaluated over the documents AWS (moto) holds."""

from __future__ import annotations

import pytest

from tests.deploy.iam_eval import allowed, role_policies

pytestmark = pytest.mark.aws


def test_evaluator_knows_deny_wins_and_wildcards():
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "ssm:Get*", "Resource": "*"}]}
    deny = {
        "Statement": {
            "Effect": "Deny",
            "Action": "ssm:*",
            "Resource": "arn:aws:ssm:*:*:parameter/x",
        }
    }
    assert allowed([allow_all], "SSM:GetParameter", "arn:aws:ssm:r:1:parameter/a")
    assert not allowed([allow_all, deny], "ssm:GetParameter", "arn:aws:ssm:r:1:parameter/x")
    assert not allowed([allow_all], "ssm:PutParameter", "arn:aws:ssm:r:1:parameter/a")
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert allowed([not_action], "s3:GetObject", "arn:aws:s3:::b/k")
    assert not allowed([not_action], "iam:CreateUser", "*")


def test_the_instance_reads_its_key_and_no_other_parameter(account):
    result = account.run("apply")
    assert result.exit_code == 0, result.output
    policies = role_policies(account.aws.client("iam"), "rs-test-instance")
    prefix = f"arn:aws:ssm:{account.aws.region}:{account.aws.account_id}:parameter"
    key = prefix + account.settings.ssm_parameter
    assert allowed(policies, "ssm:GetParameter", key)
    for action in ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"):
        assert not allowed(policies, action, prefix + "/other/secret"), action
    # Run Command and Session Manager still work without the managed policy.
    for action in (
        "ssm:UpdateInstanceInformation",
        "ec2messages:GetMessages",
        "ssmmessages:OpenDataChannel",
    ):
        assert allowed(policies, action, "*"), action
    assert not allowed(policies, "ssm:SendCommand", "*")
    attached = account.aws.client("iam").list_attached_role_policies(RoleName="rs-test-instance")
    assert attached["AttachedPolicies"] == []


def test_an_old_stack_loses_the_managed_policy(account):
    assert account.run("apply").exit_code == 0
    iam = account.aws.client("iam")
    core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    iam.attach_role_policy(RoleName="rs-test-instance", PolicyArn=core)
    lines = [x.strip() for x in account.run("plan").output.splitlines() if x.startswith("  + ")]
    assert lines == [
        "+ detach managed policy AmazonSSMManagedInstanceCore: "
        "from IAM role rs-test-instance (not in the plan)"
    ]
    assert account.run("apply").exit_code == 0
    assert iam.list_attached_role_policies(RoleName="rs-test-instance")["AttachedPolicies"] == []


def test_the_instance_reads_only_the_configured_source_buckets(account):
    """S3 sources on the host use the instance role: read (list + get) under each
    configured s3://bucket/prefix, nothing else, and never a write."""
    result = account.run("apply", source_bucket="s3://team-docs/handbook")
    assert result.exit_code == 0, result.output
    policies = role_policies(account.aws.client("iam"), "rs-test-instance")
    assert allowed(policies, "s3:GetObject", "arn:aws:s3:::team-docs/handbook/a.pdf")
    assert allowed(policies, "s3:ListBucket", "arn:aws:s3:::team-docs")
    assert not allowed(policies, "s3:GetObject", "arn:aws:s3:::team-docs/private/x.pdf")
    assert not allowed(policies, "s3:GetObject", "arn:aws:s3:::other-bucket/handbook/a.pdf")
    assert not allowed(policies, "s3:PutObject", "arn:aws:s3:::team-docs/handbook/a.pdf")
    listing = next(
        s for p in policies for s in p["Statement"] if s.get("Action") == "s3:ListBucket"
    )
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["handbook*"]}}
    again = account.run("plan", source_bucket="s3://team-docs/handbook")
    assert again.exit_code == 0 and "nothing to do" in again.output.lower(), again.output


def test_a_malformed_source_bucket_is_one_line(account):
    result = account.run("plan", source_bucket="https://team-docs")
    assert result.exit_code != 0  # the CLI's main prints the ConfigError as one line
    assert "source_buckets: 'https://team-docs' is not s3://bucket[/prefix]" in str(
        result.exception
    )
