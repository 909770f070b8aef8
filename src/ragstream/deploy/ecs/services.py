"""What runs: log group, cluster, the two roles, task definitions (web, worker), the two
Fargate services and their autoscaling.

A task definition's image is not part of the plan: `release` moves it (a new revision),
`apply` keeps whatever image runs and only registers a revision when something else
drifted (CPU, memory, roles, command, environment, secrets, logging).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from ragstream.deploy.ecs.clients import EcsClients
from ragstream.deploy.ecs.network import Network, group_key
from ragstream.deploy.ecs.resources import (
    DB_NAME,
    DB_PORT,
    DB_USER,
    METRIC_NAMESPACE,
    QUEUE_METRIC,
    EcsNames,
    EcsStack,
    TaskFamily,
)
from ragstream.deploy.ecs.settings import EcsSettings
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import get_or_none
from ragstream.deploy.planner import plan_role
from ragstream.deploy.resources import Role
from ragstream.deploy.settings import DeploySettings

CIRCUIT_BREAKER = {
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
PENDING = "<db secret, known after the database is created>"


def plan_logs(clients: EcsClients, stack: EcsStack, days: int) -> Iterator[Step]:
    found = clients.logs.describe_log_groups(logGroupNamePrefix=stack.log_group)["logGroups"]
    group = next((g for g in found if g["logGroupName"] == stack.log_group), None)
    if group is None:
        yield Step("create", f"log group {stack.log_group}", f"kept {days} days",
                   lambda c: (c.clients.logs.create_log_group(logGroupName=stack.log_group,
                                                               tags=dict(stack.tags)),
                              c.clients.logs.put_retention_policy(logGroupName=stack.log_group,
                                                                  retentionInDays=days)))  # fmt: skip
    elif group.get("retentionInDays") != days:
        yield Step("update", f"log group {stack.log_group}", f"kept {days} days",
                   lambda c: c.clients.logs.put_retention_policy(logGroupName=stack.log_group,
                                                                 retentionInDays=days))  # fmt: skip


def plan_cluster(clients: EcsClients, stack: EcsStack) -> Iterator[Step]:
    found = clients.ecs.describe_clusters(clusters=[stack.cluster])["clusters"]
    if not any(c["status"] == "ACTIVE" for c in found):
        yield Step("create", f"ECS cluster {stack.cluster}", "Fargate, Container Insights",
                   lambda c: c.clients.ecs.create_cluster(
                       clusterName=stack.cluster, capacityProviders=["FARGATE"],
                       settings=[{"name": "containerInsights", "value": "enabled"}],
                       tags=[{"key": k, "value": v} for k, v in stack.tags]))  # fmt: skip


def plan_roles(clients: EcsClients, stack: EcsStack, ctx: Context) -> Iterator[Step]:
    """The execution role's policy names the database secret: when the database is made
    in the same apply, the policy is rendered when its step runs."""
    tags = [{"Key": k, "Value": v} for k, v in stack.tags]
    role = stack.execution_role
    for step in plan_role(clients, role, tags):
        if step.resource == f"inline policy {role.policy_name}" and PENDING in json.dumps(
            role.policy
        ):
            step = dataclasses.replace(step, run=lambda c, r=role: _put_rendered(c, r))
        yield step
    yield from plan_role(clients, stack.task_role, tags)


def _put_rendered(ctx: Context, role: Role) -> None:
    text = json.dumps(role.policy).replace(json.dumps(PENDING)[1:-1], ctx.need("db_secret_arn"))
    ctx.clients.iam.put_role_policy(
        RoleName=role.name, PolicyName=role.policy_name, PolicyDocument=text
    )


def container(s: DeploySettings, stack: EcsStack, fam: TaskFamily, image: str, db_host: str,
              db_secret: str, openai_key_arn: str) -> dict[str, Any]:  # fmt: skip
    env = {
        "RAGSTREAM_DATABASE_URL": f"postgresql://{DB_USER}@{db_host}:{DB_PORT}/{DB_NAME}?sslmode=require",
        "RAGSTREAM_BLOBS": f"s3://{stack.bucket}/queue",
        "RAGSTREAM_STACK": stack.name,
        "AWS_REGION": s.region,
    }
    spec: dict[str, Any] = {
        "name": fam.family.removeprefix(f"{stack.name}-"),
        "image": image,
        "essential": True,
        "command": list(fam.command),
        "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
        # injected by ECS at start: never in the image, the task definition or argv
        "secrets": [
            {"name": "OPENAI_API_KEY", "valueFrom": openai_key_arn},
            {"name": "PGPASSWORD", "valueFrom": f"{db_secret}:password::"},
        ],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": stack.log_group, "awslogs-region": s.region,
            "awslogs-stream-prefix": fam.family}},
    }  # fmt: skip
    if fam.port:
        spec["portMappings"] = [{"containerPort": fam.port, "protocol": "tcp"}]
    return spec


def task_definition(
    fam: TaskFamily, spec: dict[str, Any], exec_arn: str, task_arn: str
) -> dict[str, Any]:
    return {
        "family": fam.family, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
        "cpu": str(fam.cpu), "memory": str(fam.memory), "executionRoleArn": exec_arn,
        "taskRoleArn": task_arn, "containerDefinitions": [spec],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    }  # fmt: skip


COMPARED = ("cpu", "memory", "executionRoleArn", "taskRoleArn")
COMPARED_CONTAINER = ("command", "environment", "secrets", "logConfiguration", "portMappings")


def task_drift(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """What differs between a registered revision and the wanted one (image aside)."""
    drift = [k for k in COMPARED if str(current.get(k)) != str(wanted.get(k))]
    have, want = current["containerDefinitions"][0], wanted["containerDefinitions"][0]
    for key in COMPARED_CONTAINER:
        a, b = have.get(key) or [], want.get(key) or []
        if key == "portMappings":
            a = [
                {"containerPort": p["containerPort"], "protocol": p.get("protocol", "tcp")}
                for p in a
            ]
        if _canon(a) != _canon(b):
            drift.append(key)
    return drift


def _canon(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((_canon(v) for v in value), key=json.dumps)
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in sorted(value.items())}
    return value


def find_service(clients: EcsClients, cluster: str, name: str) -> Any | None:
    found = get_or_none(lambda: clients.ecs.describe_services(cluster=cluster, services=[name]),
                        "ClusterNotFoundException")  # fmt: skip
    live = [x for x in (found or {}).get("services", []) if x["status"] != "INACTIVE"]
    return live[0] if live else None


def plan_services(
    clients: EcsClients, s: DeploySettings, e: EcsSettings, stack: EcsStack, net: Network,
    ctx: Context, image_repo: str, openai_key_arn: str, db_secret: str,
) -> Iterator[Step]:  # fmt: skip
    names = EcsNames(stack.name)
    role_arn = lambda name: f"arn:{clients.partition}:iam::{clients.account_id}:role/{name}"  # noqa: E731
    for fam, count, lb in ((stack.web, e.web_min, True), (stack.worker, e.worker_min, False)):
        service = find_service(clients, stack.cluster, fam.family)
        current = None
        if service is not None:
            current = clients.ecs.describe_task_definition(
                taskDefinition=service["taskDefinition"]
            )["taskDefinition"]
        image = current["containerDefinitions"][0]["image"] if current else f"{image_repo}:latest"

        def wanted(c: Any, fam: TaskFamily = fam, image: str = image) -> dict[str, Any]:
            secret = db_secret if db_secret != PENDING else c.need("db_secret_arn")
            host = c.values.get("db_host") or f"{names.db}.{s.region}.rds.amazonaws.com"
            spec = container(s, stack, fam, image, host, secret, openai_key_arn)
            return task_definition(
                fam, spec, role_arn(stack.execution_role.name), role_arn(stack.task_role.name)
            )

        def register(c: Any, wanted: Any = wanted, fam: TaskFamily = fam) -> None:
            arn = c.clients.ecs.register_task_definition(**wanted(c))["taskDefinition"][
                "taskDefinitionArn"
            ]
            c.values[f"td:{fam.family}"] = arn

        if current is None:
            yield Step(
                "register",
                f"task definition {fam.family}",
                f"{fam.cpu} CPU, {fam.memory} MiB, {image}",
                register,
            )
            yield Step("create", f"ECS service {fam.family}",
                       f"{count} task(s), circuit breaker with rollback" + (", behind the ALB" if lb else ""),
                       lambda c, fam=fam, count=count, lb=lb: _create_service(c, stack, fam, count, lb, net))  # fmt: skip
        else:
            drift = task_drift(current, wanted(ctx))
            if drift:
                yield Step(
                    "register",
                    f"task definition {fam.family}",
                    "revision for " + ", ".join(drift),
                    register,
                )
                yield Step("update", f"ECS service {fam.family}", "roll out the new revision",
                           lambda c, fam=fam: c.clients.ecs.update_service(
                               cluster=stack.cluster, service=fam.family,
                               taskDefinition=c.need(f"td:{fam.family}")))  # fmt: skip
            # (moto does not keep deploymentConfiguration: an absent one is not checked)
            config = (service or {}).get("deploymentConfiguration")
            if config is not None and (
                config.get("deploymentCircuitBreaker")
                != CIRCUIT_BREAKER["deploymentCircuitBreaker"]
            ):
                yield Step("update", f"ECS service {fam.family}", "circuit breaker with rollback",
                           lambda c, fam=fam: c.clients.ecs.update_service(
                               cluster=stack.cluster, service=fam.family,
                               deploymentConfiguration=CIRCUIT_BREAKER))  # fmt: skip
        yield from plan_scaling(clients, stack, fam, e, lb)


def _create_service(
    c: Any, stack: EcsStack, fam: TaskFamily, count: int, lb: bool, net: Network
) -> None:
    extra: dict[str, Any] = {}
    if lb:
        extra = {"loadBalancers": [{"targetGroupArn": c.need("tg_arn"), "containerName": "web",
                                    "containerPort": fam.port}],
                 "healthCheckGracePeriodSeconds": 90}  # fmt: skip
    c.clients.ecs.create_service(
        cluster=stack.cluster, serviceName=fam.family, taskDefinition=c.need(f"td:{fam.family}"),
        desiredCount=count, launchType="FARGATE", deploymentConfiguration=CIRCUIT_BREAKER,
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": list(net.private), "assignPublicIp": "DISABLED",
            "securityGroups": [c.need(group_key(stack.groups[1].name))]}},
        propagateTags="SERVICE", tags=[{"key": k, "value": v} for k, v in stack.tags], **extra,
    )  # fmt: skip


def scaling_policy(stack: EcsStack, fam: TaskFamily, e: EcsSettings, web: bool) -> dict[str, Any]:
    if web:
        return {"TargetValue": e.web_cpu_target, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}  # fmt: skip
    # backlog per running worker = queue depth / running tasks (AWS's SQS-worker recipe)
    return {
        "TargetValue": e.jobs_per_worker, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
        "CustomizedMetricSpecification": {"Metrics": [
            {"Id": "depth", "ReturnData": False, "MetricStat": {"Stat": "Average", "Metric": {
                "Namespace": METRIC_NAMESPACE, "MetricName": QUEUE_METRIC,
                "Dimensions": [{"Name": "Stack", "Value": stack.name}]}}},
            {"Id": "tasks", "ReturnData": False, "MetricStat": {"Stat": "Average", "Metric": {
                "Namespace": "ECS/ContainerInsights", "MetricName": "RunningTaskCount",
                "Dimensions": [{"Name": "ClusterName", "Value": stack.cluster},
                               {"Name": "ServiceName", "Value": fam.family}]}}},
            {"Id": "backlog", "Expression": "depth / MAX([tasks, 1])", "ReturnData": True,
             "Label": "queued jobs per worker"}]},
    }  # fmt: skip


def plan_scaling(
    clients: EcsClients, stack: EcsStack, fam: TaskFamily, e: EcsSettings, web: bool
) -> Iterator[Step]:
    resource = f"service/{stack.cluster}/{fam.family}"
    low, high = (e.web_min, e.web_max) if web else (e.worker_min, e.worker_max)
    dim = "ecs:service:DesiredCount"
    aas = clients.autoscaling
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])[
        "ScalableTargets"
    ]
    if not targets or (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) != (low, high):
        yield Step("register", f"autoscaling {fam.family}", f"{low}-{high} tasks",
                   lambda c: c.clients.autoscaling.register_scalable_target(
                       ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=dim,
                       MinCapacity=low, MaxCapacity=high))  # fmt: skip
    policy = scaling_policy(stack, fam, e, web)
    name = f"{fam.family}-{'cpu' if web else 'queue-depth'}"
    found = aas.describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=resource, PolicyNames=[name]
    )["ScalingPolicies"]
    have = found[0].get("TargetTrackingScalingPolicyConfiguration") if found else None
    if have is None or _canon(have) != _canon(policy):
        detail = (
            f"CPU {e.web_cpu_target:g}%" if web else f"{e.jobs_per_worker:g} queued jobs per worker"
        )
        yield Step("put", f"scaling policy {name}", detail,
                   lambda c: c.clients.autoscaling.put_scaling_policy(
                       PolicyName=name, ServiceNamespace="ecs", ResourceId=resource,
                       ScalableDimension=dim, PolicyType="TargetTrackingScaling",
                       TargetTrackingScalingPolicyConfiguration=policy))  # fmt: skip
