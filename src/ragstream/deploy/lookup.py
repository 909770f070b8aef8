"""Read-only lookups shared by plan, destroy, release and status (describe/get/list only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ragstream.deploy.aws import AwsClients, error_code
from ragstream.deploy.resources import STACK_TAG, VOLUME_TAG
from ragstream.errors import DeployError

LIVE_STATES = ["pending", "running", "stopping", "stopped"]


def stack_filter(stack_name: str) -> list[Any]:
    return [{"Name": f"tag:{STACK_TAG}", "Values": [stack_name]}]


def find_instances(clients: AwsClients, stack_name: str, states: list[str]) -> list[Any]:
    pages = clients.ec2.get_paginator("describe_instances").paginate(
        Filters=[*stack_filter(stack_name), {"Name": "instance-state-name", "Values": states}]
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def find_security_group(clients: AwsClients, stack_name: str, name: str) -> Any | None:
    groups = clients.ec2.describe_security_groups(
        Filters=[*stack_filter(stack_name), {"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    return groups[0] if groups else None


def find_addresses(clients: AwsClients, stack_name: str) -> list[Any]:
    return list(clients.ec2.describe_addresses(Filters=stack_filter(stack_name))["Addresses"])


def find_data_volumes(clients: AwsClients, stack_name: str) -> list[Any]:
    """The stack's /data volumes (kept across terminations), oldest first."""
    filters = [*stack_filter(stack_name), {"Name": f"tag:{VOLUME_TAG}", "Values": ["data"]}]
    found = clients.ec2.describe_volumes(Filters=filters)["Volumes"]
    live = [v for v in found if v["State"] in ("creating", "available", "in-use")]
    return sorted(live, key=lambda v: str(v.get("CreateTime", "")))


def get_or_none(call: Callable[[], Any], *codes: str) -> Any | None:
    """The result of a get/describe call, or None if AWS says the thing does not exist."""
    try:
        return call()
    except Exception as exc:
        if error_code(exc) in codes:
            return None
        raise


def retry_while(codes: set[str], call: Callable[[], Any], seconds: float = 90) -> Any:
    """Retry a call while AWS answers with an eventual-consistency error (IAM propagation)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except Exception as exc:
            if error_code(exc) not in codes or time.monotonic() > deadline:
                raise
            time.sleep(3)


def resolve_ami(clients: AwsClients, parameter: str, pinned: str | None) -> str:
    if pinned:
        return pinned
    found = get_or_none(lambda: clients.ssm.get_parameter(Name=parameter), "ParameterNotFound")
    if found is None:
        raise DeployError(
            f"AMI parameter {parameter} not found in {clients.region}: "
            "set `ami` in ragstream.deploy.toml to an Ubuntu 24.04 image id"
        )
    return str(found["Parameter"]["Value"])
