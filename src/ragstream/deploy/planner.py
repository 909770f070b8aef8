"""Compare the desired Stack with what AWS describes; yield the Steps that close the gap.

Only describe/get/list calls happen here. Every change lives in a Step's `run`, so
`plan` (display) and `apply` (execute) walk exactly the same list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from ragstream.deploy import compute
from ragstream.deploy.aws import AwsClients
from ragstream.deploy.document import plan_document
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.hostconfig import plan_host_config
from ragstream.deploy.lookup import LIVE_STATES, find_instances, find_security_group, get_or_none
from ragstream.deploy.resources import Repository, Role, Stack
from ragstream.host.config import HostConfig


def normalized(policy: Any) -> Any:
    """A policy (dict or JSON text) in a canonical shape, so equal policies compare equal."""
    return _canonical(json.loads(policy) if isinstance(policy, str) else policy)


def _canonical(value: Any, key: str = "") -> Any:
    if key in ("Action", "Resource", "NotAction", "NotResource"):
        return sorted([value] if isinstance(value, str) else value)  # "x" means ["x"]
    if isinstance(value, dict):
        return {k: _canonical(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def tag_list(stack: Stack) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in stack.tags]


def plan_repository(clients: AwsClients, repo: Repository, stack: Stack) -> Iterator[Step]:
    name = f"ECR repository {repo.name}"
    found = get_or_none(
        lambda: clients.ecr.describe_repositories(repositoryNames=[repo.name]),
        "RepositoryNotFoundException",
    )

    def put_lifecycle(ctx: Context) -> None:
        ctx.clients.ecr.put_lifecycle_policy(
            repositoryName=repo.name, lifecyclePolicyText=repo.lifecycle_policy
        )

    if found is None:

        def create(ctx: Context) -> None:
            ctx.clients.ecr.create_repository(
                repositoryName=repo.name,
                imageScanningConfiguration={"scanOnPush": repo.scan_on_push},
                imageTagMutability=repo.tag_mutability,  # type: ignore[arg-type]
                tags=tag_list(stack),  # type: ignore[arg-type]
            )
            put_lifecycle(ctx)

        yield Step("create", name, "scan on push, lifecycle policy", create)
        return
    current = found["repositories"][0]
    if current["imageScanningConfiguration"]["scanOnPush"] != repo.scan_on_push:
        yield Step(
            "update",
            name,
            "scan on push",
            lambda ctx: ctx.clients.ecr.put_image_scanning_configuration(
                repositoryName=repo.name,
                imageScanningConfiguration={"scanOnPush": repo.scan_on_push},
            ),
        )
    if current["imageTagMutability"] != repo.tag_mutability:
        yield Step(
            "update",
            name,
            f"tag mutability {repo.tag_mutability}",
            lambda ctx: ctx.clients.ecr.put_image_tag_mutability(
                repositoryName=repo.name,
                imageTagMutability=repo.tag_mutability,
            ),
        )
    policy = get_or_none(
        lambda: clients.ecr.get_lifecycle_policy(repositoryName=repo.name),
        "LifecyclePolicyNotFoundException",
    )
    if policy is None or json.loads(policy["lifecyclePolicyText"]) != json.loads(
        repo.lifecycle_policy
    ):
        yield Step("update", name, "lifecycle policy", put_lifecycle)


def plan_role(clients: AwsClients, role: Role, tags: list[dict[str, str]]) -> Iterator[Step]:
    """Role, its inline policy, its managed policies and (optionally) its instance profile."""
    iam = clients.iam
    name = f"IAM role {role.name}"
    found = get_or_none(lambda: iam.get_role(RoleName=role.name), "NoSuchEntity")
    trust = json.dumps(role.trust_policy)
    if found is None:
        yield Step(
            "create",
            name,
            "trust " + _principal(role.trust_policy),
            lambda ctx: ctx.clients.iam.create_role(
                RoleName=role.name,
                AssumeRolePolicyDocument=trust,
                Tags=tags,
            ),
        )
        inline, attached = None, set()
    else:
        if normalized(found["Role"]["AssumeRolePolicyDocument"]) != normalized(role.trust_policy):
            yield Step(
                "update",
                name,
                "trust policy",
                lambda ctx: ctx.clients.iam.update_assume_role_policy(
                    RoleName=role.name, PolicyDocument=trust
                ),
            )
        inline = get_or_none(
            lambda: iam.get_role_policy(RoleName=role.name, PolicyName=role.policy_name),
            "NoSuchEntity",
        )
        listed = iam.list_attached_role_policies(RoleName=role.name)["AttachedPolicies"]
        attached = {p["PolicyArn"] for p in listed}
        # Any other inline policy (say `*:*` added by hand) is drift: only ours may exist.
        for other in sorted(iam.list_role_policies(RoleName=role.name)["PolicyNames"]):
            if other != role.policy_name:
                yield Step(
                    "delete",
                    f"inline policy {other}",
                    f"from {name} (not in the plan)",
                    lambda ctx, other=other: ctx.clients.iam.delete_role_policy(
                        RoleName=role.name, PolicyName=other
                    ),
                )
    if inline is None or normalized(inline["PolicyDocument"]) != normalized(role.policy):
        yield Step(
            "create" if inline is None else "update",
            f"inline policy {role.policy_name}",
            f"of {name}",
            lambda ctx: ctx.clients.iam.put_role_policy(
                RoleName=role.name,
                PolicyName=role.policy_name,
                PolicyDocument=json.dumps(role.policy),
            ),
        )
    for arn in sorted(set(role.managed_policies) - attached):
        yield Step(
            "attach",
            f"managed policy {arn.rsplit('/', 1)[-1]}",
            f"to {name}",
            lambda ctx, arn=arn: ctx.clients.iam.attach_role_policy(
                RoleName=role.name, PolicyArn=arn
            ),
        )
    for arn in sorted(attached - set(role.managed_policies)):
        yield Step(
            "detach",
            f"managed policy {arn.rsplit('/', 1)[-1]}",
            f"from {name} (not in the plan)",
            lambda ctx, arn=arn: ctx.clients.iam.detach_role_policy(
                RoleName=role.name, PolicyArn=arn
            ),
        )
    if role.instance_profile:
        yield from _plan_instance_profile(clients, role.instance_profile, role.name, tags)


def _plan_instance_profile(
    clients: AwsClients, profile: str, role_name: str, tags: list[dict[str, str]]
) -> Iterator[Step]:
    found = get_or_none(
        lambda: clients.iam.get_instance_profile(InstanceProfileName=profile), "NoSuchEntity"
    )
    if found is None:
        yield Step(
            "create",
            f"instance profile {profile}",
            "",
            lambda ctx: ctx.clients.iam.create_instance_profile(
                InstanceProfileName=profile,
                Tags=tags,
            ),
        )
    roles = [] if found is None else [r["RoleName"] for r in found["InstanceProfile"]["Roles"]]
    if role_name not in roles:
        yield Step(
            "add",
            f"role {role_name}",
            f"to instance profile {profile}",
            lambda ctx: ctx.clients.iam.add_role_to_instance_profile(
                InstanceProfileName=profile, RoleName=role_name
            ),
        )


def _principal(trust: dict[str, Any]) -> str:
    principal = trust["Statement"][0]["Principal"]
    return str(next(iter(principal.values())))


def plan_stack(
    clients: AwsClients,
    stack: Stack,
    user_data: Callable[[str], bytes],
    registry: str,
    host_config: HostConfig,
) -> tuple[list[Step], Context]:
    """All steps for the stack, in dependency order, and the context they will run in."""
    context = Context(clients, {"registry": registry})
    group = find_security_group(clients, stack.name, stack.security_group.name)
    if group is not None:
        context.values["security_group_id"] = group["GroupId"]
    live = find_instances(clients, stack.name, LIVE_STATES)
    if live:
        context.values["instance_id"] = live[0]["InstanceId"]
    tags = [{"Key": key, "Value": value} for key, value in stack.tags]
    steps = [
        *plan_repository(clients, stack.repository, stack),
        *plan_role(clients, stack.role, tags),
        *plan_host_config(clients, host_config, tags),
        *plan_document(clients, stack.name, tags),
        *compute.plan_security_group(clients, stack),
        *compute.plan_instance(clients, stack, user_data),
        *compute.plan_elastic_ip(clients, stack),
    ]
    return steps, context
