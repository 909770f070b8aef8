"""Run the host agent on the stack's instances through SSM Run Command (no SSH).

`release`, `rollback` and `logs` are one host command each; the instances are found by
the stack tag, the command goes out as AWS-RunShellScript, and we wait on
get_command_invocation until every instance has finished (list_command_invocations is
avoided on purpose: it is not needed and moto lacks it).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from ragstream.deploy.aws import AwsClients, error_code
from ragstream.deploy.lookup import find_instances
from ragstream.errors import ConfigError, DeployError
from ragstream.host.config import AGENT_PATH

DOCUMENT = "AWS-RunShellScript"
PENDING = {"Pending", "InProgress", "Delayed"}
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # Docker's tag grammar


@dataclass(frozen=True)
class Invocation:
    instance_id: str
    status: str  # Success, Failed, TimedOut, Cancelled, ...
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == "Success" and self.exit_code == 0


def release_command(tag: str) -> str:
    if not TAG.fullmatch(tag):
        raise ConfigError(f"--tag {tag!r} is not a Docker tag (letters, digits, _ . -)")
    return shlex.join([AGENT_PATH, "release", "--tag", tag])


def rollback_command() -> str:
    return shlex.join([AGENT_PATH, "rollback"])


def status_command() -> str:
    return shlex.join([AGENT_PATH, "status"])


def logs_command(tail: int, container: str = "ragstream") -> str:
    """Logs of the stack's containers (blue/green slots are named <container>-<slot>)."""
    if tail < 1:
        raise ConfigError(f"--tail {tail}: give a positive number of lines")
    listing = shlex.join(
        ["docker", "ps", "--filter", f"name={container}", "--format", "{{.Names}}"]
    )
    return f'for c in $({listing}); do echo "== $c"; docker logs --tail {int(tail)} "$c" 2>&1; done'


def running_instance_ids(clients: AwsClients, stack: str) -> list[str]:
    instances = find_instances(clients, stack, ["running"])
    if not instances:
        raise DeployError(
            f"stack {stack!r} has no running instance in {clients.region}: "
            "run `ragstream deploy apply` first (or check `ragstream deploy status`)"
        )
    return sorted(i["InstanceId"] for i in instances)


def run_on_stack(
    clients: AwsClients,
    stack: str,
    command: str,
    timeout: int = 900,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Invocation]:
    """Send `command` to every running instance of the stack; wait for all results."""
    instance_ids = running_instance_ids(clients, stack)
    sent = clients.ssm.send_command(
        InstanceIds=instance_ids,
        DocumentName=DOCUMENT,
        Comment=f"ragstream deploy, stack {stack}"[:100],
        Parameters={"commands": [command], "executionTimeout": [str(timeout)]},
        TimeoutSeconds=max(30, min(timeout, 2592000)),
    )
    command_id = sent["Command"]["CommandId"]
    return [wait_for(clients, command_id, i, timeout, poll, sleep) for i in instance_ids]


def wait_for(
    clients: AwsClients,
    command_id: str,
    instance_id: str,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None],
) -> Invocation:
    deadline = time.monotonic() + timeout + 60
    while True:
        try:
            found = clients.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except Exception as exc:
            # Right after send_command the invocation may not be registered yet.
            if error_code(exc) != "InvocationDoesNotExist":
                raise
            found = None
        if found is not None and found["Status"] not in PENDING:
            return Invocation(
                instance_id=instance_id,
                status=found["Status"],
                exit_code=int(found.get("ResponseCode", -1)),
                stdout=found.get("StandardOutputContent", ""),
                stderr=found.get("StandardErrorContent", ""),
            )
        if time.monotonic() > deadline:
            raise DeployError(
                f"command {command_id} on {instance_id} still running after {timeout:.0f}s: "
                f"see `aws ssm get-command-invocation --command-id {command_id} "
                f"--instance-id {instance_id}`"
            )
        sleep(poll)
