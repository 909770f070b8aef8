"""Wait for a release to settle, as `aws ecs wait services-stable` does, and say how it
ended: stable on the new revision, rolled back by the deployment circuit breaker (the
new deployment's rolloutState is FAILED, or the service is back on an older revision),
or still rolling out when the wait ran out (one line; ECS carries on without us).

The waiter is boto3's `services_stable` (every service has one deployment and runs its
desired count), bounded by `[ecs] release_wait_seconds`; the verdict comes from one
describe_services after it, so it holds whether the waiter returned or gave up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import WaiterError

POLL_SECONDS = 15  # what `aws ecs wait services-stable` uses


@dataclass(frozen=True)
class Outcome:
    service: str
    state: str  # stable, rolled-back, rolling-out, missing
    detail: str = ""

    def line(self) -> str:
        return f"{self.service}: {self.state}" + (f" ({self.detail})" if self.detail else "")


def wait_for_rollout(
    ecs: Any, cluster: str, released: Mapping[str, str], timeout: float,
    poll: float | None = None,
) -> list[Outcome]:  # fmt: skip
    """Wait up to `timeout` seconds for the services (name -> the task definition ARN
    just released) to be stable; one Outcome per service."""
    poll = POLL_SECONDS if poll is None else poll
    names = list(released)
    waited_out = False
    if timeout > 0:
        attempts = max(1, math.ceil(timeout / poll))
        try:
            ecs.get_waiter("services_stable").wait(
                cluster=cluster, services=names,
                WaiterConfig={"Delay": poll, "MaxAttempts": attempts},
            )  # fmt: skip
        except WaiterError:
            waited_out = True  # a timeout, or a service gone: the verdict below says which
    described = ecs.describe_services(cluster=cluster, services=names)["services"]
    by_name = {s["serviceName"]: s for s in described}
    return [
        verdict(name, by_name.get(name), arn, waited_out, timeout) for name, arn in released.items()
    ]


def verdict(
    name: str, service: Mapping[str, Any] | None, arn: str, waited_out: bool, timeout: float
) -> Outcome:
    if service is None or service.get("status") != "ACTIVE":
        return Outcome(name, "missing", "the service is gone; run `ragstream deploy apply`")
    deployments = service.get("deployments", [])
    ours = [d for d in deployments if d.get("taskDefinition") == arn]
    failed = [d for d in ours if d.get("rolloutState") == "FAILED"]
    if failed or service.get("taskDefinition") != arn:
        why = failed[0].get("rolloutStateReason", "") if failed else ""
        current = str(service.get("taskDefinition", "?")).rsplit("/", 1)[-1]
        return Outcome(name, "rolled-back", "; ".join(filter(None, [
            "the circuit breaker rolled back to " + current, why])))  # fmt: skip
    stable = len(deployments) == 1 and service.get("runningCount") == service.get("desiredCount")
    if stable and not waited_out:
        return Outcome(
            name, "stable", f"{service.get('runningCount')} tasks on {arn.rsplit('/', 1)[-1]}"
        )
    return Outcome(name, "rolling-out", f"not stable after {timeout:.0f}s; ECS carries on: "
                   "`ragstream deploy status` shows the rollout")  # fmt: skip
