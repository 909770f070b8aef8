"""The Deployer: one object per command run, holding settings and clients; the CLI is thin over it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.executor import Context, DisplayExecutor, Executor, Step
from ragstream.deploy.lookup import find_data_volumes, get_or_none
from ragstream.deploy.planner import plan_stack
from ragstream.deploy.resources import Arns, Names, desired_stack
from ragstream.deploy.settings import DeploySettings
from ragstream.deploy.teardown import kept_volumes, plan_destroy
from ragstream.errors import ConfigError, DeployError
from ragstream.host.config import HostConfig

BACKUP_TAGS = [{"Key": "ragstream:backup", "Value": "on-demand"}]


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
            config_parameter=Names(s.stack, s.repository).host_config_parameter,
            keep_releases=s.keep_images,
        )

    def user_data(self, registry: str) -> bytes:
        # The host wing renders its own cloud-init; its HostError is stdlib-only, not ours.
        from ragstream.host.errors import HostError
        from ragstream.host.userdata import compress_user_data, render_user_data

        try:
            return compress_user_data(render_user_data(self.host_config(registry)))
        except HostError as exc:
            raise DeployError(f"cannot render the host's user data: {exc}") from None

    def steps(self) -> tuple[list[Step], Context]:
        from ragstream.host.userdata import bootstrap_fingerprint

        stack = desired_stack(self.settings, self.arns, bootstrap_fingerprint())
        return plan_stack(self.clients, stack, self.user_data, self.registry, self.host_config())

    def plan(self) -> int:
        steps, context = self.steps()
        return DisplayExecutor(self.echo).execute(steps, context)

    def apply(self) -> int:
        steps, context = self.steps()
        return Executor(self.echo).execute(steps, context)

    def destroy_steps(self, everything: bool) -> list[Step]:
        return list(plan_destroy(self.clients, self.settings, everything))

    def destroy(self, steps: list[Step], everything: bool) -> int:
        count = Executor(self.echo).execute(steps, Context(self.clients))
        if not everything:
            for line in kept_volumes(self.clients, self.settings):
                self.echo(line)
        return count

    def backup(self) -> list[str]:
        """Start a tagged snapshot of each data volume of the stack; return the snapshot ids."""
        volumes = find_data_volumes(self.clients, self.settings.stack)
        if not volumes:
            raise DeployError(
                f"stack {self.settings.stack!r} has no data volume in {self.settings.region}: "
                "run `ragstream deploy apply` first"
            )
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        tags: Any = [{"ResourceType": "snapshot", "Tags": [self.settings.stack_tag, *BACKUP_TAGS]}]
        found = []
        for volume in volumes:
            snapshot = self.clients.ec2.create_snapshot(
                VolumeId=volume["VolumeId"],
                Description=f"ragstream {self.settings.stack} /data {stamp}",
                TagSpecifications=tags,
            )
            self.echo(f"snapshot {snapshot['SnapshotId']} of {volume['VolumeId']} started")
            found.append(snapshot["SnapshotId"])
        return found

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
