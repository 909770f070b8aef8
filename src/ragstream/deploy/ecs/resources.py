"""What an ECS stack should look like: names, ARNs and least-privilege policies, no AWS calls.

Two roles per task family, as ECS intends: the *execution* role is what the ECS agent
uses to start a task (pull this repository's image, write this log group, read exactly
these two secrets); the *task* role is what the app itself may do (read and write
objects in this bucket, publish the queue-depth metric). Every statement names exact
ARNs, except actions AWS defines on "*" only (ecr:GetAuthorizationToken,
cloudwatch:PutMetricData, which is pinned to one namespace by a condition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragstream.deploy.ecs.settings import EcsSettings
from ragstream.deploy.resources import Arns, Role, service_trust
from ragstream.deploy.settings import DeploySettings

APP_PORT = 8501
DB_PORT = 5432
DB_NAME = "ragstream"
DB_USER = "ragstream"
METRIC_NAMESPACE = "RAGstream"
QUEUE_METRIC = "IngestQueueDepth"
HEALTH_PATH = "/_stcore/health"


@dataclass(frozen=True)
class EcsNames:
    stack: str

    def __getattr__(self, part: str) -> str:  # e.g. names.alb -> "<stack>-alb"
        if part.startswith("_"):
            raise AttributeError(part)
        return f"{self.stack}-{part.replace('_', '-')}"


class EcsArns(Arns):
    def bucket(self, name: str) -> str:
        return f"arn:{self.partition}:s3:::{name}"

    def log_group(self, name: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{name}"


@dataclass(frozen=True)
class Rule:
    """One ingress rule: from a CIDR or from another of the stack's security groups."""

    port: int
    source: str  # a CIDR, or "sg:<stack group name>"

    def __str__(self) -> str:
        return f"tcp/{self.port} from {self.source}"


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    rules: frozenset[Rule]


@dataclass(frozen=True)
class Database:
    identifier: str
    instance_class: str
    storage_gb: int
    backup_days: int
    engine_version: str
    subnet_group: str


@dataclass(frozen=True)
class TaskFamily:
    family: str
    cpu: int
    memory: int
    command: tuple[str, ...]
    port: int | None


@dataclass(frozen=True)
class EcsStack:
    name: str
    tags: tuple[tuple[str, str], ...]
    groups: tuple[Group, ...]
    bucket: str
    database: Database
    log_group: str
    cluster: str
    execution_role: Role
    task_role: Role
    web: TaskFamily
    worker: TaskFamily


def execution_policy(
    s: DeploySettings, arns: EcsArns, log_group: str, db_secret: str
) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "EcrPull",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": arns.repository(s.repository),
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{arns.log_group(log_group)}:*",
            },
            {
                "Sid": "OpenAiKey",
                "Effect": "Allow",
                "Action": "ssm:GetParameters",
                "Resource": arns.parameter(s.ssm_parameter),
            },
            {
                "Sid": "DbPassword",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": db_secret,
            },
        ],
    }


def task_policy(arns: EcsArns, bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListDocs",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": arns.bucket(bucket),
            },
            {
                "Sid": "Docs",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": f"{arns.bucket(bucket)}/*",
            },
            {
                "Sid": "QueueMetric",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            },
        ],
    }


def security_groups(s: DeploySettings, names: EcsNames) -> tuple[Group, ...]:
    """ALB open to the allowed CIDRs; tasks only from the ALB; the database only from tasks."""
    ports = (80, 443) if s.domain else (80,)
    return (
        Group(names.alb, f"ragstream {s.stack}: load balancer",
              frozenset(Rule(p, cidr) for p in ports for cidr in s.allowed_cidrs)),
        Group(names.tasks, f"ragstream {s.stack}: app and worker tasks",
              frozenset({Rule(APP_PORT, f"sg:{names.alb}")})),
        Group(names.db, f"ragstream {s.stack}: database",
              frozenset({Rule(DB_PORT, f"sg:{names.tasks}")})),
    )  # fmt: skip


def bucket_name(s: DeploySettings, e: EcsSettings, account: str) -> str:
    return e.bucket or f"{s.stack}-{account}-{s.region}-docs"


def desired_ecs_stack(s: DeploySettings, e: EcsSettings, arns: EcsArns, db_secret: str) -> EcsStack:
    """`db_secret` is the ARN of the database's managed secret (known once RDS made it)."""
    names = EcsNames(s.stack)
    log_group = f"/ragstream/{s.stack}"
    bucket = bucket_name(s, e, arns.account)
    trust = service_trust("ecs-tasks.amazonaws.com")
    return EcsStack(
        name=s.stack,
        tags=(("ragstream:stack", s.stack),),
        groups=security_groups(s, names),
        bucket=bucket,
        database=Database(
            names.db,
            e.db_instance_class,
            e.db_storage_gb,
            e.db_backup_days,
            e.db_engine_version,
            names.db_subnets,
        ),
        log_group=log_group,
        cluster=s.stack,
        execution_role=Role(
            names.execution,
            trust,
            "ragstream-execution",
            execution_policy(s, arns, log_group, db_secret),
        ),
        task_role=Role(names.task, trust, "ragstream-task", task_policy(arns, bucket)),
        web=TaskFamily(names.web, e.web_cpu, e.web_memory, ("serve",), APP_PORT),
        worker=TaskFamily(
            names.worker, e.worker_cpu, e.worker_memory, ("worker", "--publish-depth"), None
        ),
    )
