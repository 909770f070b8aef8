"""The shared typed client (ragstream.deploy.aws) plus the services only this target uses.

These are `Any`: their boto3 stubs are not installed (the project types only what the
single-host target calls).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from ragstream.deploy.aws import AwsClients


class EcsClients(AwsClients):
    def _client(self, name: str) -> Any:
        return self.session.client(name)  # type: ignore[call-overload]

    @cached_property
    def s3(self) -> Any:
        return self._client("s3")

    @cached_property
    def rds(self) -> Any:
        return self._client("rds")

    @cached_property
    def ecs(self) -> Any:
        return self._client("ecs")

    @cached_property
    def elbv2(self) -> Any:
        return self._client("elbv2")

    @cached_property
    def logs(self) -> Any:
        return self._client("logs")

    @cached_property
    def acm(self) -> Any:
        return self._client("acm")

    @cached_property
    def autoscaling(self) -> Any:
        return self._client("application-autoscaling")
