"""The shared moto fixture gives an empty account per test, with managed policies loaded."""

import pytest

pytestmark = pytest.mark.aws


def test_account_is_fresh_and_reachable(aws):
    ssm = aws.client("ssm")
    assert ssm.describe_parameters()["Parameters"] == []
    ssm.put_parameter(Name="/leftover", Value="x", Type="String")
    identity = aws.client("sts").get_caller_identity()
    assert identity["Account"] == aws.account_id


def test_state_is_reset_between_tests(aws):
    assert aws.client("ssm").describe_parameters()["Parameters"] == []


def test_managed_policies_are_loaded(aws):
    arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert aws.client("iam").get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
