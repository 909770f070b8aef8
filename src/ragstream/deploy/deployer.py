"""The Deployer: one object per command run, holding settings and clients; the CLI is thin over it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import Any

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.executor import Context, DisplayExecutor, Executor, Step
from ragstream.deploy.lookup import get_or_none
from ragstream.deploy.planner import plan_stack
from ragstream.deploy.resources import Arns, desired_stack
from ragstream.deploy.settings import DeploySettings
from ragstream.deploy.teardown import plan_destroy
from ragstream.errors import ConfigError, DeployError
from ragstream.host.config import HostConfig


@contextmanager
def quiet_aws_logs() -> Iterator[None]:
    """Silence botocore/urllib3 below WARNING for one call that carries a secret."""
    loggers = [logging.getLogger(name) for name in ("botocore", "boto3", "urllib3")]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


class Deployer:
    def __init__(self, settings: DeploySettings, echo: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.echo = echo
        self.clients = AwsClients(settings)

    @cached_property
    def arns(self) -> Arns:
        return Arns(self.clients.partition, self.settings.region, self.clients.account_id)

    @cached_property
    def registry(self) -> str:
        """Where images go: the setting if given (tests, mirrors), else this account's ECR."""
        if self.settings.registry:
            return self.settings.registry
        suffix = "amazonaws.com.cn" if self.clients.partition == "aws-cn" else "amazonaws.com"
        return f"{self.clients.account_id}.dkr.ecr.{self.settings.region}.{suffix}"

    @property
    def image_name(self) -> str:
        return f"{self.registry}/{self.settings.repository}"

    def whoami(self) -> dict[str, str]:
        identity = self.clients.sts.get_caller_identity()
        return {
            "account": identity["Account"],
            "arn": identity["Arn"],
            "region": self.settings.region,
            "registry": self.registry,
        }

    def host_config(self, registry: str | None = None) -> HostConfig:
        s = self.settings
        return HostConfig(
            region=s.region,
            stack=s.stack,
            image_repository=f"{registry or self.registry}/{s.repository}",
            ssm_parameter=s.ssm_parameter,
            domain=s.domain,
            hosted_zone_id=s.hosted_zone_id,
        )

    def user_data(self, registry: str) -> str:
        # The host wing renders its own cloud-init; its HostError is stdlib-only, not ours.
        from ragstream.host.errors import HostError
        from ragstream.host.userdata import render_user_data

        try:
            return render_user_data(self.host_config(registry))
        except HostError as exc:
            raise DeployError(f"cannot render the host's user data: {exc}") from None

    def steps(self) -> tuple[list[Step], Context]:
        stack = desired_stack(self.settings, self.arns)
        return plan_stack(self.clients, stack, self.user_data, self.registry)

    def plan(self) -> int:
        steps, context = self.steps()
        return DisplayExecutor(self.echo).execute(steps, context)

    def apply(self) -> int:
        steps, context = self.steps()
        return Executor(self.echo).execute(steps, context)

    def destroy_steps(self, everything: bool) -> list[Step]:
        return list(plan_destroy(self.clients, self.settings, everything))

    def destroy(self, steps: list[Step]) -> int:
        return Executor(self.echo).execute(steps, Context(self.clients))

    def set_secret(self, value: str, name: str | None = None) -> str:
        """Store a SecureString (overwrite); return a confirmation that never shows the value."""
        name = name or self.settings.ssm_parameter
        value = value.strip()
        if not value:
            raise ConfigError(f"refusing to store an empty value in {name}")
        with quiet_aws_logs():  # botocore's DEBUG log would print the request body
            result = self.clients.ssm.put_parameter(
                Name=name, Value=value, Type="SecureString", Overwrite=True
            )
        return f"stored {name} as SecureString, version {result['Version']} ({'*' * 8})"

    def check_secret(self, name: str | None = None) -> dict[str, Any] | None:
        """Whether the parameter exists, its type and when it changed; never its value."""
        name = name or self.settings.ssm_parameter
        found = get_or_none(
            lambda: self.clients.ssm.describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
            ),
            "ParameterNotFound",
        )
        parameters = found["Parameters"] if found else []
        if not parameters:
            return None
        parameter = parameters[0]
        modified = parameter.get("LastModifiedDate")
        return {
            "name": name,
            "type": parameter.get("Type"),
            "version": parameter.get("Version"),
            "last_modified": modified.isoformat() if isinstance(modified, datetime) else modified,
        }
