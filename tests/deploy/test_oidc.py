"""github-oidc against moto: provider and role created once, trust and permissions exact."""

from __future__ import annotations

import json

import pytest

from tests.deploy.iam_eval import allowed

pytestmark = pytest.mark.aws

ISSUER = "token.actions.githubusercontent.com"


def test_github_oidc_is_idempotent_and_scoped(account):
    first = account.run("github-oidc", "--repo", "octo-org/ragstream")
    assert first.exit_code == 0, first.output
    role_arn = f"arn:aws:iam::{account.aws.account_id}:role/rs-test-github-deploy"
    assert f"role ARN: {role_arn}" in first.output
    assert f"AWS_ROLE_ARN={role_arn}" in first.output
    assert f"AWS_REGION={account.aws.region}" in first.output
    assert "create OIDC provider token.actions.githubusercontent.com" in first.output

    second = account.run("github-oidc", "--repo", "octo-org/ragstream")
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output
    assert f"role ARN: {role_arn}" in second.output

    iam = account.aws.client("iam")
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [
        f"arn:aws:iam::{account.aws.account_id}:oidc-provider/{ISSUER}"
    ]
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=providers[0]["Arn"])[
        "ClientIDList"
    ] == ["sts.amazonaws.com"]

    role = iam.get_role(RoleName="rs-test-github-deploy")["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"]["Federated"] == providers[0]["Arn"]
    assert trust["Condition"]["StringEquals"] == {
        f"{ISSUER}:aud": "sts.amazonaws.com",
        f"{ISSUER}:sub": "repo:octo-org/ragstream:ref:refs/heads/main",
    }
    policy = iam.get_role_policy(RoleName="rs-test-github-deploy", PolicyName="ragstream-deploy")
    document = policy["PolicyDocument"]
    resources = {json.dumps(s["Resource"]) for s in document["Statement"]}
    region, account_id = account.aws.region, account.aws.account_id
    assert resources == {
        '"*"',
        f'"arn:aws:ecr:{region}:{account_id}:repository/ragstream-web"',
        f'"arn:aws:ec2:{region}:{account_id}:instance/*"',
        f'"arn:aws:ssm:{region}:{account_id}:document/rs-test-host-agent"',
    }
    # CI may run the agent's document on the stack, and get no root shell anywhere
    assert allowed(
        [document],
        "ssm:SendCommand",
        f"arn:aws:ssm:{region}:{account_id}:document/rs-test-host-agent",
    )
    assert not allowed(
        [document], "ssm:SendCommand", f"arn:aws:ssm:{region}::document/AWS-RunShellScript"
    )
    # the trust conditions are printed, so whoever runs it sees who may assume the role
    assert (
        "trust: aud=sts.amazonaws.com sub=repo:octo-org/ragstream:ref:refs/heads/main"
        in first.output
    )

    # another branch is a change of the trust policy, shown and applied in place
    third = account.run("github-oidc", "--repo", "octo-org/ragstream", "--branch", "release")
    assert "update IAM role rs-test-github-deploy: trust policy" in third.output
    role = iam.get_role(RoleName="rs-test-github-deploy")["Role"]
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]
    assert condition[f"{ISSUER}:sub"] == "repo:octo-org/ragstream:ref:refs/heads/release"
