"""Every step of the ECS stack, in dependency order (describe/list calls only)."""

from __future__ import annotations

from ragstream.deploy.ecs.clients import EcsClients
from ragstream.deploy.ecs.data import find_database, plan_bucket, plan_database
from ragstream.deploy.ecs.edge import certificate, plan_edge
from ragstream.deploy.ecs.network import find_network, plan_groups
from ragstream.deploy.ecs.resources import EcsArns, EcsNames, EcsStack, desired_ecs_stack
from ragstream.deploy.ecs.services import (
    PENDING,
    plan_cluster,
    plan_logs,
    plan_roles,
    plan_services,
)
from ragstream.deploy.ecs.settings import EcsSettings
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.settings import DeploySettings


def ecs_arns(clients: EcsClients, s: DeploySettings) -> EcsArns:
    return EcsArns(clients.partition, s.region, clients.account_id)


def current_stack(clients: EcsClients, s: DeploySettings, e: EcsSettings) -> EcsStack:
    db = find_database(clients, EcsNames(s.stack).db)
    secret = ((db or {}).get("MasterUserSecret") or {}).get("SecretArn") or PENDING
    return desired_ecs_stack(s, e, ecs_arns(clients, s), secret)


def plan_ecs(
    clients: EcsClients, s: DeploySettings, e: EcsSettings, registry: str
) -> tuple[list[Step], Context]:
    ctx = Context(clients, {"registry": registry})
    net = find_network(clients, e)
    stack = current_stack(clients, s, e)
    cert = certificate(clients, s.domain, e.certificate_arn) if s.domain else None
    secret = stack.execution_role.policy["Statement"][-1]["Resource"]
    key_arn = ecs_arns(clients, s).parameter(s.ssm_parameter)
    steps = [
        *plan_groups(clients, stack, net, ctx),
        *plan_bucket(clients, stack),
        *plan_database(clients, stack, net, ctx),
        *plan_logs(clients, stack, e.log_retention_days),
        *plan_cluster(clients, stack),
        *plan_roles(clients, stack, ctx),
        *plan_edge(clients, s, stack, net, ctx, cert),
        *plan_services(
            clients, s, e, stack, net, ctx, f"{registry}/{s.repository}", key_arn, secret
        ),
    ]
    return steps, ctx
