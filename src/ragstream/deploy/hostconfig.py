"""Plan the host's deployed settings: an SSM parameter the agent reads at every start.

The instance's user data is written once, at launch; what `apply` may change later
(image repository, key parameter, domain, zone, releases kept) lives in the String
parameter /ragstream/<stack>/host-config. `plan` shows each changed setting; `apply`
writes the parameter and asks running hosts to `reconfigure` (dns, then a blue/green
start with the new settings), so a change never waits for a reboot or a release.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import find_instances, get_or_none
from ragstream.errors import DeployError
from ragstream.host.config import HostConfig


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(new) if old.get(k) != new[k]]


def plan_host_config(
    clients: AwsClients, config: HostConfig, tags: list[dict[str, str]]
) -> Iterator[Step]:
    name = config.config_parameter
    assert name, "the deployer always names the parameter"
    wanted = config.deployed_json()
    found = get_or_none(lambda: clients.ssm.get_parameter(Name=name), "ParameterNotFound")
    if found is not None and found["Parameter"]["Value"] == wanted:
        return
    old = json.loads(found["Parameter"]["Value"]) if found else {}

    def put(ctx: Context) -> None:
        ctx.clients.ssm.put_parameter(
            Name=name, Value=wanted, Type="String", Overwrite=True, Description="ragstream host"
        )
        if found is None:
            ctx.clients.ssm.add_tags_to_resource(
                ResourceType="Parameter",
                ResourceId=name,
                Tags=tags,  # type: ignore[arg-type]
            )

    what = "; ".join(changes(old, json.loads(wanted))) if found else "the deployed settings"
    yield Step("update" if found else "create", f"host config {name}", what, put)
    running = [i["InstanceId"] for i in find_instances(clients, config.stack, ["running"])]
    if found is not None and running:
        yield Step(
            "reconfigure",
            f"host(s) {', '.join(sorted(running))}",
            "the agent takes the new settings now (dns, then a blue/green start)",
            lambda ctx: reconfigure(ctx, config.stack),
        )


def reconfigure(ctx: Context, stack: str) -> None:
    from ragstream.deploy.release import reconfigure_command, run_on_stack

    failed = [r for r in run_on_stack(ctx.clients, stack, reconfigure_command()) if not r.ok]
    if failed:
        reason = (failed[0].stderr.strip().splitlines() or [failed[0].status])[-1]
        raise DeployError(
            f"host config stored, but {failed[0].instance_id} did not take it ({reason}): "
            "it will at its next start or release; see `ragstream deploy logs`"
        )
