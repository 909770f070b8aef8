"""The ECS target's Deployer: plan/apply/destroy with the shared executors, and
release/rollback/status through ECS itself (a release is a task definition revision;
the deployment circuit breaker rolls back a revision whose tasks fail their health)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragstream.deploy.deployer import Deployer
from ragstream.deploy.ecs.clients import EcsClients
from ragstream.deploy.ecs.edge import find_alb
from ragstream.deploy.ecs.planner import current_stack, plan_ecs
from ragstream.deploy.ecs.resources import EcsStack
from ragstream.deploy.ecs.rollout import Outcome, wait_for_rollout
from ragstream.deploy.ecs.services import find_service
from ragstream.deploy.ecs.settings import EcsSettings, load_ecs_settings
from ragstream.deploy.ecs.teardown import plan_ecs_destroy
from ragstream.deploy.executor import Context, DisplayExecutor, Executor, Step
from ragstream.deploy.settings import DeploySettings
from ragstream.errors import DeployError

# register_task_definition takes these keys of a described revision back
REGISTERABLE = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
    "volumes", "placementConstraints", "requiresCompatibilities", "cpu", "memory",
    "runtimePlatform",
)  # fmt: skip


class EcsDeployer(Deployer):
    """The single-host Deployer's identity, registry, image and secret commands, with
    this target's plan, apply, destroy, release, rollback and status."""

    def __init__(
        self, settings: DeploySettings, echo: Callable[[str], None] = print,
        config: Path | None = None, ecs: EcsSettings | None = None,
    ) -> None:  # fmt: skip
        super().__init__(settings, echo)
        self.ecs_settings = ecs or load_ecs_settings(config)
        self.clients: EcsClients = EcsClients(settings)

    def stack(self) -> EcsStack:
        return current_stack(self.clients, self.settings, self.ecs_settings)

    def steps(self) -> tuple[list[Step], Context]:
        return plan_ecs(self.clients, self.settings, self.ecs_settings, self.registry)

    def plan(self) -> int:
        steps, ctx = self.steps()
        return DisplayExecutor(self.echo).execute(steps, ctx)

    def apply(self) -> int:
        steps, ctx = self.steps()
        return Executor(self.echo).execute(steps, ctx)

    def destroy_steps(self, everything: bool) -> list[Step]:
        return list(plan_ecs_destroy(self.clients, self.stack(), everything))

    def destroy(self, steps: list[Step], everything: bool = False) -> int:
        return Executor(self.echo).execute(steps, Context(self.clients))

    # --- release, rollback, status ------------------------------------------------------
    def _service(self, family: str) -> Any:
        service = find_service(self.clients, self.stack().cluster, family)
        if service is None:
            raise DeployError(
                f"ECS service {family} does not exist: run `ragstream deploy apply` first"
            )
        return service

    def release(self, tag: str) -> dict[str, str]:
        """Register a revision of each task definition with the image `tag` and roll it out."""
        image = f"{self.image_name}:{tag}" if "@" not in tag else f"{self.image_name}{tag}"
        stack = self.stack()
        done = {}
        for fam in (stack.web, stack.worker):
            service = self._service(fam.family)
            current = self.clients.ecs.describe_task_definition(
                taskDefinition=service["taskDefinition"]
            )["taskDefinition"]
            spec = {k: copy.deepcopy(current[k]) for k in REGISTERABLE if current.get(k)}
            spec["containerDefinitions"][0]["image"] = image
            arn = self.clients.ecs.register_task_definition(**spec)["taskDefinition"][
                "taskDefinitionArn"
            ]
            self.clients.ecs.update_service(
                cluster=stack.cluster, service=fam.family, taskDefinition=arn
            )
            self.echo(f"{fam.family}: {arn.rsplit('/', 1)[-1]} ({image}) rolling out")
            done[fam.family] = arn
        return done

    def wait(self, released: dict[str, str], poll: float | None = None) -> list[Outcome]:
        """Wait (`[ecs] release_wait_seconds`) for the released services to be stable;
        echo one line each; DeployError if one was rolled back or is still rolling out."""
        timeout = self.ecs_settings.release_wait_seconds
        self.echo(f"waiting up to {timeout}s for the services to be stable...")
        outcomes = wait_for_rollout(self.clients.ecs, self.stack().cluster, released, timeout, poll)
        for outcome in outcomes:
            self.echo(outcome.line())
        bad = [o for o in outcomes if o.state != "stable"]
        if bad:
            raise DeployError("release not stable: " + "; ".join(o.line() for o in bad))
        return outcomes

    def rollback(self) -> dict[str, str]:
        """Point each service at the revision before its current one."""
        stack = self.stack()
        done = {}
        for fam in (stack.web, stack.worker):
            service = self._service(fam.family)
            revisions = self.clients.ecs.list_task_definitions(
                familyPrefix=fam.family, sort="DESC"
            )["taskDefinitionArns"]
            older = [a for a in revisions if _revision(a) < _revision(service["taskDefinition"])]
            if not older:
                raise DeployError(
                    f"{fam.family}: no revision before {_revision(service['taskDefinition'])} to roll back to"
                )
            self.clients.ecs.update_service(
                cluster=stack.cluster, service=fam.family, taskDefinition=older[0]
            )
            self.echo(f"{fam.family}: back to {older[0].rsplit('/', 1)[-1]}")
            done[fam.family] = older[0]
        return done

    def status(self) -> dict[str, Any]:
        stack = self.stack()
        report: dict[str, Any] = {"stack": stack.name, "services": {}}
        for fam in (stack.web, stack.worker):
            service = find_service(self.clients, stack.cluster, fam.family)
            if service is None:
                report["services"][fam.family] = "missing"
                continue
            td = self.clients.ecs.describe_task_definition(
                taskDefinition=service["taskDefinition"]
            )["taskDefinition"]
            report["services"][fam.family] = {
                "revision": _revision(service["taskDefinition"]),
                "image": td["containerDefinitions"][0]["image"],
                "desired": service.get("desiredCount"), "running": service.get("runningCount"),
                "pending": service.get("pendingCount"),
                "rollout": [d.get("rolloutState", d.get("status")) for d in service.get("deployments", [])],
            }  # fmt: skip
        alb = find_alb(self.clients, f"{stack.name}-alb")
        report["url"] = f"https://{self.settings.domain}" if self.settings.domain else (
            f"http://{alb['DNSName']}" if alb else None)  # fmt: skip
        return report


def _revision(arn: str) -> int:
    return int(arn.rsplit(":", 1)[-1])
