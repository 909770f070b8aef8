"""Run the host agent on the stack's instances through SSM Run Command (no SSH).

`release`, `rollback`, `status` and `reconfigure` go out as the stack's own document
(document.py: the agent and nothing else); only `logs`, an admin's command, still uses
AWS-RunShellScript. The instances are found by the stack tag, and we wait on
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
from ragstream.deploy.document import document_name
from ragstream.deploy.lookup import find_instances
from ragstream.errors import ConfigError, DeployError
from ragstream.host.config import AGENT_PATH

SHELL = "AWS-RunShellScript"
PENDING = {"Pending", "InProgress", "Delayed"}
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # Docker's tag grammar
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


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


# What the agent prints on stdout once a release serves (healthy): the tag and its digest.
SERVING = re.compile(r"^(?:released|rolled back to) \S+ (sha256:[0-9a-f]{64})$", re.M)


def serving_digest(results: list[Invocation]) -> str | None:
    """The one digest every instance reported serving, or None (nothing to promote)."""
    found = {m.group(1) for r in results if r.ok for m in SERVING.finditer(r.stdout)}
    return found.pop() if len(found) == 1 and all(r.ok for r in results) else None


@dataclass(frozen=True)
class AgentCall:
    """One agent action through the stack's document (a ref is a tag or a digest)."""

    action: str
    ref: str = ""

    def __str__(self) -> str:
        return shlex.join([AGENT_PATH, self.action, *([self.ref] if self.ref else [])])


def release_command(tag: str) -> AgentCall:
    if not TAG.fullmatch(tag):
        raise ConfigError(f"--tag {tag!r} is not a Docker tag (letters, digits, _ . -)")
    return AgentCall("release", tag)


def rollback_command(to: str | None = None) -> AgentCall:
    if to and not (TAG.fullmatch(to) or DIGEST.fullmatch(to)):
        raise ConfigError(f"--to {to!r}: give a tag or a digest (sha256:<64 hex>)")
    return AgentCall("rollback", to or "")


def reconfigure_command() -> AgentCall:
    return AgentCall("reconfigure")


def status_command() -> AgentCall:
    return AgentCall("status")


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
    command: str | AgentCall,
    timeout: int = 900,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Invocation]:
    """Send `command` to every running instance of the stack; wait for all results."""
    instance_ids = running_instance_ids(clients, stack)
    if isinstance(command, AgentCall):
        name, parameters = document_name(stack), {"action": [command.action], "ref": [command.ref]}
    else:
        name, parameters = SHELL, {"commands": [command], "executionTimeout": [str(timeout)]}
    sent = clients.ssm.send_command(
        InstanceIds=instance_ids,
        DocumentName=name,
        Comment=f"ragstream deploy, stack {stack}"[:100],
        Parameters=parameters,
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
