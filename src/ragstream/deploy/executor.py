"""Steps and the two executors that consume them (chalice-style).

A Step is a described change plus the function that makes it. `plan` hands the steps to
`DisplayExecutor` (prints, calls nothing); `apply` hands the same steps to `Executor`.
Steps share ids produced along the way (a new security group's id, the instance id)
through `Context.values`, which the planner pre-fills with the ids it discovered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragstream.deploy.aws import AwsClients


@dataclass
class Context:
    clients: AwsClients
    values: dict[str, str] = field(default_factory=dict)

    def need(self, key: str) -> str:
        # A missing value means a step ran out of order: a bug, not a user error.
        if key not in self.values:
            raise RuntimeError(f"step needs {key!r}, which no earlier step produced")
        return self.values[key]


def _nothing(context: Context) -> None:
    return None


@dataclass(frozen=True)
class Step:
    verb: str  # create / update / add / remove / delete / start / attach ...
    resource: str  # e.g. "security group ragstream-web"
    detail: str = ""
    # Callable[..., Any]: lambdas bind loop variables as defaults (lambda ctx, arn=arn: ...)
    run: Callable[..., Any] = field(default=_nothing, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}" + (f": {self.detail}" if self.detail else "")


class DisplayExecutor:
    """What `plan` uses: describes each step, changes nothing."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo

    def execute(self, steps: Iterable[Step], context: Context) -> int:
        count = 0
        for step in steps:
            self.echo(f"  + {step}")
            count += 1
        if not count:
            self.echo("nothing to do: the stack matches the settings")
        return count


class Executor:
    """What `apply` uses: runs each step in order, reporting as it goes."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo

    def execute(self, steps: Iterable[Step], context: Context) -> int:
        count = 0
        for step in steps:
            self.echo(f"  {step}")
            step.run(context)
            count += 1
        self.echo(f"done: {count} change(s)" if count else "nothing to do: up to date")
        return count
