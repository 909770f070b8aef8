"""The policies as JSON: every statement on exact ARNs, except actions AWS only allows on "*"."""

from __future__ import annotations

import json

import pytest

from ragstream.deploy.oidc import deploy_policy, trust_policy
from ragstream.deploy.resources import (
    SSM_AGENT_ACTIONS,
    Arns,
    IngressRule,
    ingress_rules,
    instance_policy,
    lifecycle_policy,
)
from ragstream.deploy.settings import DeploySettings
from ragstream.errors import ConfigError

ARNS = Arns("aws", "eu-west-3", "210987654321")
# Actions that are not resource-scoped in IAM: "*" is the only valid resource for them.
STAR_ONLY = {
    "ecr:GetAuthorizationToken",
    "ec2:DescribeInstances",
    "ssm:GetCommandInvocation",
    *SSM_AGENT_ACTIONS,
}


def as_list(value):
    return [value] if isinstance(value, str) else value


def statements(policy):
    json.dumps(policy)  # must be plain JSON
    return policy["Statement"]


def assert_least_privilege(policy):
    for statement in statements(policy):
        assert statement["Effect"] == "Allow"
        actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
        assert all("*" not in action for action in actions), statement
        if resources == ["*"]:
            assert set(actions) <= STAR_ONLY, statement
        else:
            for resource in resources:
                assert resource.startswith("arn:aws:"), resource
                # the only wildcard allowed is "any instance" narrowed by a tag condition
                if "*" in resource:
                    assert resource == "arn:aws:ec2:eu-west-3:210987654321:instance/*"
                    assert statement["Condition"]["StringEquals"]


def test_instance_policy_without_domain():
    settings = DeploySettings(region="eu-west-3", repository="web", ssm_parameter="/app/KEY")
    policy = instance_policy(settings, ARNS)
    assert_least_privilege(policy)
    by_sid = {s["Sid"]: s for s in statements(policy)}
    assert by_sid["EcrPull"]["Resource"] == "arn:aws:ecr:eu-west-3:210987654321:repository/web"
    assert by_sid["ReadKey"] == {
        "Sid": "ReadKey",
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": [
            "arn:aws:ssm:eu-west-3:210987654321:parameter/app/KEY",
            "arn:aws:ssm:eu-west-3:210987654321:parameter/ragstream/ragstream/host-config",
        ],
    }
    assert "UpdateDns" not in by_sid
    assert not any(
        a.startswith(("ecr:Put", "ecr:Upload"))
        for s in by_sid.values()
        for a in as_list(s["Action"])
    )


def test_instance_policy_with_domain_adds_exactly_the_zone():
    settings = DeploySettings(domain="rag.example.org", hosted_zone_id="/hostedzone/Z0ABC")
    policy = instance_policy(settings, ARNS)
    assert_least_privilege(policy)
    dns = next(s for s in statements(policy) if s["Sid"] == "UpdateDns")
    assert dns["Resource"] == "arn:aws:route53:::hostedzone/Z0ABC"
    assert "route53:ChangeResourceRecordSets" in dns["Action"]


def test_github_deploy_policy_is_scoped_to_repo_and_stack_tag():
    settings = DeploySettings(region="eu-west-3", repository="web", stack="shop")
    policy = deploy_policy(settings, ARNS)
    assert_least_privilege(policy)
    send = [s for s in statements(policy) if s["Action"] == "ssm:SendCommand"]
    assert {s["Resource"] for s in send} == {
        "arn:aws:ec2:eu-west-3:210987654321:instance/*",
        "arn:aws:ssm:eu-west-3:210987654321:document/shop-host-agent",
    }
    on_instances = next(s for s in send if "instance/" in s["Resource"])
    assert on_instances["Condition"] == {
        "StringEquals": {"ssm:resourceTag/ragstream:stack": "shop"}
    }
    push = next(s for s in statements(policy) if s["Sid"] == "PushImages")
    assert push["Resource"] == "arn:aws:ecr:eu-west-3:210987654321:repository/web"
    assert "ecr:PutImage" in push["Action"]


def test_github_trust_admits_one_repo_and_branch():
    trust = trust_policy(ARNS, "octo-org/ragstream", "release")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {
        "Federated": "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:octo-org/ragstream:ref:refs/heads/release",
        }
    }


@pytest.mark.parametrize(
    ("repo", "branch"), [("ragstream", "main"), ("a/b", "*"), ("a/b c", "main")]
)
def test_github_trust_refuses_vague_input(repo, branch):
    with pytest.raises(ConfigError):
        trust_policy(ARNS, repo, branch)


def test_ingress_follows_domain_and_ssh():
    cidrs = ("203.0.113.0/24",)
    assert ingress_rules(DeploySettings(allowed_cidrs=cidrs)) == {IngressRule(80, cidrs[0])}
    with_domain = DeploySettings(allowed_cidrs=cidrs, domain="a.example.org", hosted_zone_id="Z1")
    assert ingress_rules(with_domain) == {IngressRule(80, cidrs[0]), IngressRule(443, cidrs[0])}
    assert IngressRule(22, cidrs[0]) in ingress_rules(DeploySettings(allowed_cidrs=cidrs, ssh=True))
    assert all(rule.port != 8501 for rule in ingress_rules(with_domain))


def test_lifecycle_keeps_n_tagged_and_expires_untagged_after_a_day():
    rules = {r["selection"]["tagStatus"]: r for r in json.loads(lifecycle_policy(7))["rules"]}
    assert rules["untagged"]["selection"]["countType"] == "sinceImagePushed"
    assert rules["untagged"]["selection"]["countNumber"] == 1
    assert rules["tagged"]["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": 7,
    }
