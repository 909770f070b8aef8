"""A moto account with the network an ECS stack is planned into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragstream.deploy.ecs.deployer import EcsDeployer
from ragstream.deploy.ecs.settings import EcsSettings
from ragstream.deploy.settings import DeploySettings


@dataclass
class EcsAccount:
    aws: Any
    settings: DeploySettings
    ecs: EcsSettings
    lines: list[str]
    private_subnets: list[str]

    def deployer(self) -> EcsDeployer:
        self.lines.clear()
        return EcsDeployer(self.settings, echo=self.lines.append, ecs=self.ecs)

    def plan(self) -> list[str]:
        self.deployer().plan()
        return [line for line in self.lines if line.startswith("  + ")]


def applied(acct: EcsAccount) -> dict[str, Any]:
    """Apply, capturing the create_service requests; plan-again must be empty."""
    deployer = acct.deployer()
    requests: dict[str, Any] = {}

    def keep(params: Any, **_: Any) -> None:
        requests[params["serviceName"]] = params

    deployer.clients.session.events.register("provide-client-params.ecs.CreateService", keep)
    deployer.apply()
    assert acct.plan() == []
    return requests
