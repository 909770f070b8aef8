"""The one way deploy code reaches AWS, and the one place botocore errors become DeployError.

`AwsClients` hands out typed boto3 clients for the settings' profile and region (boto3
honours AWS_ENDPOINT_URL, which is how the tests point it at moto). `aws_errors()` wraps
a whole command: whatever botocore raises inside comes out as one line saying what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ragstream.deploy.settings import DeploySettings
from ragstream.errors import DeployError

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

INSTALL_HINT = "boto3 is not installed: pip install 'ragstream[deploy]'"
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
# AWS phrases denials as "... not authorized to perform: ACTION on resource: RESOURCE ..."
_DENIAL = re.compile(r"perform:? (?P<action>[\w:*-]+)(?: on resource:? (?P<resource>\S+))?")


class AwsClients:
    """Lazily created clients of one boto3 session (one profile, one region)."""

    def __init__(self, settings: DeploySettings) -> None:
        try:
            import boto3
        except ImportError:
            raise DeployError(INSTALL_HINT) from None
        self.region = settings.region
        self.profile = settings.profile
        self.session = boto3.Session(profile_name=settings.profile, region_name=settings.region)

    @cached_property
    def ec2(self) -> EC2Client:
        return self.session.client("ec2")

    @cached_property
    def ecr(self) -> ECRClient:
        return self.session.client("ecr")

    @cached_property
    def iam(self) -> IAMClient:
        return self.session.client("iam")

    @cached_property
    def ssm(self) -> SSMClient:
        return self.session.client("ssm")

    @cached_property
    def sts(self) -> STSClient:
        return self.session.client("sts")

    @cached_property
    def route53(self) -> Route53Client:
        return self.session.client("route53")

    @cached_property
    def account_id(self) -> str:
        return self.sts.get_caller_identity()["Account"]

    @cached_property
    def partition(self) -> str:
        return self.session.get_partition_for_region(self.region)


def error_code(exc: BaseException) -> str:
    response: Any = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, profile: str | None = None) -> DeployError:
    """One line for any botocore exception: what failed and what to do about it."""
    from botocore import exceptions as bx

    login = f"aws sso login --profile {profile}" if profile else "aws sso login (or aws configure)"
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return DeployError(
            "no AWS credentials found: run `aws configure` or `aws sso login`, "
            "or set `profile` in ragstream.deploy.toml (or AWS_PROFILE)"
        )
    if isinstance(exc, bx.ProfileNotFound):
        return DeployError(
            f"{exc}: set `profile` in ragstream.deploy.toml to one of `aws configure list-profiles`"
        )
    if isinstance(
        exc, bx.TokenRetrievalError | bx.SSOTokenLoadError | bx.UnauthorizedSSOTokenError
    ):
        return DeployError(f"your AWS login has expired: run `{login}` and try again")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return DeployError(f"cannot reach AWS ({exc}): check the network and the region setting")
    if isinstance(exc, bx.ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")).splitlines()[0:1]
        text = message[0] if message else ""
        operation = exc.operation_name
        if code in EXPIRED:
            return DeployError(f"your AWS credentials have expired or are invalid: run `{login}`")
        if code in DENIED:
            match = _DENIAL.search(text)
            action = match["action"] if match else operation
            resource = (match["resource"] if match else None) or "the requested resource"
            return DeployError(
                f"access denied: your identity may not {action} on {resource}; "
                "ask your AWS admin to allow it (see `ragstream deploy whoami`)"
            )
        return DeployError(f"AWS {operation} failed ({code}): {text}")
    if isinstance(exc, bx.WaiterError):
        return DeployError(f"gave up waiting: {exc}")
    if isinstance(exc, bx.BotoCoreError):
        return DeployError(f"AWS call failed: {exc}")
    raise TypeError(f"not a botocore error: {exc!r}")


@contextmanager
def aws_errors(profile: str | None = None) -> Iterator[None]:
    """Run a command body; botocore's exceptions leave it as DeployError one-liners."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise DeployError(INSTALL_HINT) from None
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise translate(exc, profile) from None
