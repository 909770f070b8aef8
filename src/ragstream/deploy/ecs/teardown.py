"""Destroy the ECS stack. The database and the bucket hold the users' data: they stay
(with the database's subnet group and security group) unless --all; with --all the
database is deleted only after a final snapshot, and the bucket is emptied (every
version) and deleted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from typing import Any

from ragstream.deploy.ecs.clients import EcsClients
from ragstream.deploy.ecs.data import find_database
from ragstream.deploy.ecs.edge import find_alb, find_target_group
from ragstream.deploy.ecs.network import find_group
from ragstream.deploy.ecs.resources import EcsStack
from ragstream.deploy.ecs.services import find_service
from ragstream.deploy.executor import Step
from ragstream.deploy.lookup import get_or_none


def plan_ecs_destroy(clients: EcsClients, stack: EcsStack, everything: bool) -> Iterator[Step]:
    for fam in (stack.web, stack.worker):
        resource = f"service/{stack.cluster}/{fam.family}"
        if clients.autoscaling.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[resource]
        )["ScalableTargets"]:
            yield Step("deregister", f"autoscaling {fam.family}", "",
                       lambda c, r=resource: c.clients.autoscaling.deregister_scalable_target(
                           ServiceNamespace="ecs", ResourceId=r, ScalableDimension="ecs:service:DesiredCount"))  # fmt: skip
        if find_service(clients, stack.cluster, fam.family):
            yield Step("delete", f"ECS service {fam.family}", "its tasks stop",
                       lambda c, f=fam.family: c.clients.ecs.delete_service(cluster=stack.cluster, service=f, force=True))  # fmt: skip
        arns = clients.ecs.list_task_definitions(familyPrefix=fam.family)["taskDefinitionArns"]
        if arns:
            yield Step("deregister", f"task definition {fam.family}", f"{len(arns)} revision(s)",
                       lambda c, a=arns: [c.clients.ecs.deregister_task_definition(taskDefinition=x) for x in a])  # fmt: skip
    alb = find_alb(clients, f"{stack.name}-alb")
    if alb:
        yield Step("delete", f"load balancer {stack.name}-alb", "and its listeners",
                   lambda c, arn=alb["LoadBalancerArn"]: c.clients.elbv2.delete_load_balancer(LoadBalancerArn=arn))  # fmt: skip
    group = find_target_group(clients, stack.web.family)
    if group:
        yield Step("delete", f"target group {stack.web.family}", "",
                   lambda c, arn=group["TargetGroupArn"]: c.clients.elbv2.delete_target_group(TargetGroupArn=arn))  # fmt: skip
    if any(
        x["status"] == "ACTIVE"
        for x in clients.ecs.describe_clusters(clusters=[stack.cluster])["clusters"]
    ):
        yield Step("delete", f"ECS cluster {stack.cluster}", "",
                   lambda c: c.clients.ecs.delete_cluster(cluster=stack.cluster))  # fmt: skip
    for role in (stack.execution_role, stack.task_role):
        if get_or_none(partial(clients.iam.get_role, RoleName=role.name), "NoSuchEntity"):
            yield Step("delete", f"IAM role {role.name}", "and its inline policy",
                       lambda c, r=role: (c.clients.iam.delete_role_policy(RoleName=r.name, PolicyName=r.policy_name),
                                          c.clients.iam.delete_role(RoleName=r.name)))  # fmt: skip
    logs = clients.logs.describe_log_groups(logGroupNamePrefix=stack.log_group)["logGroups"]
    if everything and any(g["logGroupName"] == stack.log_group for g in logs):
        yield Step("delete", f"log group {stack.log_group}", "",
                   lambda c: c.clients.logs.delete_log_group(logGroupName=stack.log_group))  # fmt: skip
    db = find_database(clients, stack.database.identifier)
    if everything and db:
        snapshot = f"{stack.database.identifier}-final-{int(time.time())}"
        yield Step("delete", f"RDS instance {stack.database.identifier}", f"after a final snapshot {snapshot}",
                   lambda c: c.clients.rds.delete_db_instance(
                       DBInstanceIdentifier=stack.database.identifier, SkipFinalSnapshot=False,
                       FinalDBSnapshotIdentifier=snapshot, DeleteAutomatedBackups=False))  # fmt: skip
        yield Step("delete", f"DB subnet group {stack.database.subnet_group}", "",
                   lambda c: c.clients.rds.delete_db_subnet_group(DBSubnetGroupName=stack.database.subnet_group))  # fmt: skip
    if everything and get_or_none(
        lambda: clients.s3.head_bucket(Bucket=stack.bucket), "404", "NoSuchBucket"
    ):
        yield Step("delete", f"S3 bucket {stack.bucket}", "every object version, then the bucket",
                   lambda c: _empty_and_delete(c, stack.bucket))  # fmt: skip
    kept_db = not everything and (db is not None)
    for group in reversed(stack.groups):  # db, tasks, alb: each referenced by the next
        if group is stack.groups[2] and kept_db:
            kept = find_group(clients, stack.name, group.name)
            if kept and kept.get("IpPermissions"):  # it names the tasks' group: let that go
                yield Step("revoke", f"ingress on security group {group.name}",
                           "the tasks are gone; apply restores it",
                           lambda c, g=kept: c.clients.ec2.revoke_security_group_ingress(
                               GroupId=g["GroupId"], IpPermissions=g["IpPermissions"]))  # fmt: skip
            continue
        found = find_group(clients, stack.name, group.name)
        if found:
            yield Step("delete", f"security group {group.name}", "",
                       lambda c, g=found: _delete_group(c, g))  # fmt: skip


def _delete_group(c: Any, group: Any) -> None:
    if group.get("IpPermissions"):  # rules naming another group block its deletion
        c.clients.ec2.revoke_security_group_ingress(
            GroupId=group["GroupId"], IpPermissions=group["IpPermissions"]
        )
    c.clients.ec2.delete_security_group(GroupId=group["GroupId"])


def _empty_and_delete(c: Any, bucket: str) -> None:
    s3 = c.clients.s3
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        items = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                 for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]  # fmt: skip
        if items:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": items})
    s3.delete_bucket(Bucket=bucket)
