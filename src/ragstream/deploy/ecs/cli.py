"""How `ragstream deploy ...` runs for `target = "ecs"`: plan/apply/destroy/whoami/
secret/build/push are the shared commands on an EcsDeployer; status, release, rollback
and logs have their ECS meaning here."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ragstream.deploy.ecs.deployer import EcsDeployer
from ragstream.deploy.settings import DEFAULT_FILE, ENV_PREFIX, DeploySettings


def status(deployer: EcsDeployer, **_: Any) -> None:
    click.echo(json.dumps(deployer.status(), indent=2, default=str))


def release(deployer: EcsDeployer, tag: str | None = None, **_: Any) -> None:
    from ragstream.deploy.image import git_tag

    released = deployer.release(tag or git_tag())
    if deployer.ecs_settings.release_wait_seconds:
        deployer.wait(released)  # stable, or one line: rolled back / still rolling out
    else:
        click.echo("ECS replaces the tasks; a revision whose tasks fail health is rolled back "
                   "by the circuit breaker. `ragstream deploy status` shows the rollout.")  # fmt: skip


def rollback(deployer: EcsDeployer, **_: Any) -> None:
    deployer.rollback()


def logs(deployer: EcsDeployer, tail: int = 200, **_: Any) -> None:
    stack = deployer.stack()
    events = deployer.clients.logs.filter_log_events(logGroupName=stack.log_group, limit=tail)
    for event in events.get("events", []):
        click.echo(f"{event.get('logStreamName', '')}: {event['message'].rstrip()}")


OVERRIDES: dict[str, Callable[..., None]] = {
    "status": status, "release": release, "rollback": rollback, "logs": logs,
}  # fmt: skip


def run_ecs(command: Callable[..., Any], settings: DeploySettings, ctx: click.Context,
            *args: Any, **kwargs: Any) -> Any:  # fmt: skip
    config = (ctx.obj or {}).get("config") or Path(
        os.environ.get(ENV_PREFIX + "CONFIG", DEFAULT_FILE)
    )
    deployer = EcsDeployer(settings, echo=click.echo, config=config)
    own = OVERRIDES.get(command.__name__)
    return own(deployer, *args, **kwargs) if own else command(deployer, *args, **kwargs)
