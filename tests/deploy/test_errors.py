"""botocore errors become one DeployError line that says what to do."""

from __future__ import annotations

import sys

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, TokenRetrievalError

from ragstream.deploy.aws import AwsClients, aws_errors, translate
from ragstream.deploy.settings import DeploySettings
from ragstream.errors import DeployError


def client_error(code: str, message: str, operation: str = "CreateRepository") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_access_denied_names_action_and_resource():
    message = (
        "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: "
        "ecr:CreateRepository on resource: arn:aws:ecr:eu-central-1:111122223333:repository/web "
        "because no identity-based policy allows the ecr:CreateRepository action"
    )
    text = str(translate(client_error("AccessDeniedException", message)))
    assert "ecr:CreateRepository" in text
    assert "arn:aws:ecr:eu-central-1:111122223333:repository/web" in text
    assert "\n" not in text


def test_access_denied_without_details_still_names_the_operation():
    text = str(
        translate(client_error("UnauthorizedOperation", "You are not authorized.", "RunInstances"))
    )
    assert "RunInstances" in text


@pytest.mark.parametrize(
    "error",
    [
        client_error("ExpiredToken", "The security token included in the request is expired"),
        TokenRetrievalError(provider="sso", error_msg="Token has expired"),
    ],
)
def test_expired_credentials_say_how_to_log_in(error):
    assert "aws sso login --profile dev" in str(translate(error, profile="dev"))


def test_no_credentials_and_other_errors_are_one_line():
    assert "no AWS credentials found" in str(translate(NoCredentialsError()))
    other = translate(client_error("ThrottlingException", "Rate exceeded\nsecond line"))
    assert str(other) == "AWS CreateRepository failed (ThrottlingException): Rate exceeded"


def test_aws_errors_translates_inside_a_command():
    with pytest.raises(DeployError, match="ThrottlingException"), aws_errors():
        raise client_error("ThrottlingException", "Rate exceeded")


def test_missing_boto3_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(DeployError, match=r"pip install 'ragstream\[deploy\]'"):
        AwsClients(DeploySettings())
