"""What a stack should look like: small dataclasses built from the settings, no AWS calls.

The planner compares these with what AWS describes and yields the steps that close the gap.
Policies are plain dicts so tests can assert them as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ragstream.deploy.settings import DeploySettings

STACK_TAG = "ragstream:stack"
VOLUME_TAG = "ragstream:volume"  # "data" marks the /data volume, which outlives instances
DATA_DEVICE = "/dev/sdf"
BOOTSTRAP_TAG = "ragstream:bootstrap"  # fingerprint of the user data's agent/unit/packages
# What the SSM agent needs for Run Command and Session Manager, and nothing more. The managed
# AmazonSSMManagedInstanceCore would also grant ssm:GetParameter(s) on every parameter.
# These actions are not resource-scoped in IAM: "*" is the only valid resource for them.
SSM_AGENT_ACTIONS = (
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)


@dataclass(frozen=True)
class Names:
    """Every name derives from the stack (and the repository setting), nothing is typed twice."""

    stack: str
    repository: str

    @property
    def role(self) -> str:
        return f"{self.stack}-instance"

    @property
    def instance_profile(self) -> str:
        return f"{self.stack}-instance"

    @property
    def inline_policy(self) -> str:
        return "ragstream-instance"

    @property
    def security_group(self) -> str:
        return f"{self.stack}-web"

    @property
    def ci_role(self) -> str:
        return f"{self.stack}-github-deploy"

    @property
    def host_config_parameter(self) -> str:
        return f"/ragstream/{self.stack}/host-config"


@dataclass(frozen=True)
class Arns:
    partition: str
    region: str
    account: str

    def repository(self, name: str) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{name}"

    def parameter(self, name: str) -> str:
        return f"arn:{self.partition}:ssm:{self.region}:{self.account}:parameter/{name.lstrip('/')}"

    def hosted_zone(self, zone_id: str) -> str:
        return f"arn:{self.partition}:route53:::hostedzone/{zone_id.split('/')[-1]}"

    def instances(self) -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{self.account}:instance/*"

    def ssm_document(self, name: str) -> str:
        """A document of this account (AWS-owned ones have no account in their ARN)."""
        return f"arn:{self.partition}:ssm:{self.region}:{self.account}:document/{name}"


@dataclass(frozen=True)
class Repository:
    name: str
    lifecycle_policy: str  # JSON text, compared parsed
    scan_on_push: bool = True
    # MUTABLE because `latest` must move; SHA tags are never re-pushed (push skips digests
    # already there), so in practice they behave as immutable.
    tag_mutability: str = "MUTABLE"


@dataclass(frozen=True)
class Role:
    name: str
    trust_policy: dict[str, Any]
    policy_name: str
    policy: dict[str, Any]
    managed_policies: tuple[str, ...] = ()
    instance_profile: str | None = None


@dataclass(frozen=True, order=True)
class IngressRule:
    port: int
    cidr: str
    protocol: str = "tcp"

    def __str__(self) -> str:
        return f"{self.protocol}/{self.port} from {self.cidr}"


@dataclass(frozen=True)
class SecurityGroup:
    name: str
    description: str
    rules: frozenset[IngressRule]


@dataclass(frozen=True)
class Instance:
    name: str
    instance_type: str
    ami_parameter: str  # resolved at plan time unless `ami` is pinned
    ami: str | None
    root_volume_gb: int
    data_volume_gb: int
    instance_profile: str
    bootstrap: str = ""  # "": not compared (see BOOTSTRAP_TAG)


@dataclass(frozen=True)
class Stack:
    name: str
    tags: tuple[tuple[str, str], ...]
    repository: Repository
    role: Role
    security_group: SecurityGroup
    instance: Instance
    elastic_ip: bool


def lifecycle_policy(keep: int) -> str:
    rules = [
        {
            "rulePriority": 1,
            "description": "expire untagged images after one day",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"keep the last {keep} tagged images",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": keep,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, sort_keys=True)


def service_trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def instance_policy(settings: DeploySettings, arns: Arns) -> dict[str, Any]:
    """Least privilege for the host: pull this repository, read this key, update this zone."""
    statements: list[dict[str, Any]] = [
        # AWS defines GetAuthorizationToken on "*" only: it is not resource-scoped.
        {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {"Sid": "SsmAgent", "Effect": "Allow", "Action": list(SSM_AGENT_ACTIONS), "Resource": "*"},
        {
            "Sid": "EcrPull",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer",
            ],
            "Resource": arns.repository(settings.repository),
        },
        {
            "Sid": "ReadKey",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": [
                arns.parameter(settings.ssm_parameter),
                # the deployed settings, read at every start/release (not a secret)
                arns.parameter(Names(settings.stack, settings.repository).host_config_parameter),
            ],
        },
    ]
    statements.extend(source_read_statements(settings))
    if settings.hosted_zone_id:
        statements.append(
            {
                "Sid": "UpdateDns",
                "Effect": "Allow",
                "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
                "Resource": arns.hosted_zone(settings.hosted_zone_id),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def source_read_statements(settings: DeploySettings) -> list[dict[str, Any]]:
    """Read access to the configured S3 sources only: list under each prefix, get its
    objects (`ragstream source add s3://...` on the host uses the instance role)."""
    statements: list[dict[str, Any]] = []
    for n, (bucket, prefix) in enumerate(settings.source_locations, start=1):
        listing: dict[str, Any] = {
            "Sid": f"ListSource{n}",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
        }
        if prefix:
            listing["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
        statements.append(listing)
        statements.append(
            {
                "Sid": f"ReadSource{n}",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
            }
        )
    return statements


def ingress_rules(settings: DeploySettings) -> frozenset[IngressRule]:
    # Caddy listens on 80 (and 443 with a domain, for TLS); the app itself is bound to
    # loopback on the host, so 8501 is never opened.
    ports = [80, 443] if settings.domain else [80]
    if settings.ssh:
        ports.append(22)
    return frozenset(IngressRule(port, cidr) for port in ports for cidr in settings.allowed_cidrs)


def desired_stack(settings: DeploySettings, arns: Arns, bootstrap: str = "") -> Stack:
    names = Names(settings.stack, settings.repository)
    return Stack(
        name=settings.stack,
        tags=((STACK_TAG, settings.stack),),
        repository=Repository(settings.repository, lifecycle_policy(settings.keep_images)),
        role=Role(
            name=names.role,
            trust_policy=service_trust("ec2.amazonaws.com"),
            policy_name=names.inline_policy,
            policy=instance_policy(settings, arns),
            instance_profile=names.instance_profile,
        ),
        security_group=SecurityGroup(
            name=names.security_group,
            description=f"ragstream stack {settings.stack}: web ingress",
            rules=ingress_rules(settings),
        ),
        instance=Instance(
            name=settings.stack,
            instance_type=settings.instance_type,
            ami_parameter=settings.ami_parameter_name,
            ami=settings.ami,
            root_volume_gb=settings.root_volume_gb,
            data_volume_gb=settings.data_volume_gb,
            instance_profile=names.instance_profile,
            bootstrap=bootstrap,
        ),
        elastic_ip=settings.elastic_ip,
    )
