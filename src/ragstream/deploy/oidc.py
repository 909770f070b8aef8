"""`github-oidc`: let one GitHub repository+branch deploy this stack without stored keys.

Creates (idempotently, through the same planner as `apply`) the account's GitHub OIDC
identity provider and a role that only that repository's branch can assume, allowed to
push to this ECR repository and to send the release command to this stack's instances.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ragstream.deploy.document import document_name
from ragstream.deploy.executor import Context, Executor, Step
from ragstream.deploy.planner import plan_role
from ragstream.deploy.resources import STACK_TAG, Arns, Names, Role
from ragstream.deploy.settings import DeploySettings
from ragstream.errors import ConfigError

if TYPE_CHECKING:
    from ragstream.deploy.deployer import Deployer

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# IAM ignores thumbprints for GitHub's issuer now, but older API versions require one.
THUMBPRINTS = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
]
REPO = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
BRANCH = re.compile(r"[A-Za-z0-9._/-]+")


def provider_arn(arns: Arns) -> str:
    return f"arn:{arns.partition}:iam::{arns.account}:oidc-provider/{ISSUER}"


def trust_conditions(repo: str, branch: str) -> dict[str, str]:
    """Who may assume the deploy role: GitHub's tokens for this audience, repo and branch."""
    if not REPO.fullmatch(repo):
        raise ConfigError(f"--repo {repo!r}: write it as OWNER/NAME, e.g. octo-org/ragstream")
    if not BRANCH.fullmatch(branch) or "*" in branch:
        raise ConfigError(f"--branch {branch!r} is not a plain branch name")
    return {
        f"{ISSUER}:aud": AUDIENCE,
        f"{ISSUER}:sub": f"repo:{repo}:ref:refs/heads/{branch}",
    }


def trust_policy(arns: Arns, repo: str, branch: str) -> dict[str, Any]:
    conditions = trust_conditions(repo, branch)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn(arns)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": conditions},
            }
        ],
    }


def deploy_policy(settings: DeploySettings, arns: Arns) -> dict[str, Any]:
    """Push to one repository; run the release on the stack's instances only (by tag)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            # These three actions are not resource-scoped: AWS only accepts "*" for them.
            {
                "Sid": "NotResourceScoped",
                "Effect": "Allow",
                "Action": [
                    "ecr:GetAuthorizationToken",
                    "ec2:DescribeInstances",
                    "ssm:GetCommandInvocation",
                ],
                "Resource": "*",
            },
            {
                "Sid": "PushImages",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload",
                    "ecr:DescribeImages",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:PutImage",
                    "ecr:UploadLayerPart",
                ],
                "Resource": arns.repository(settings.repository),
            },
            {
                "Sid": "ReleaseOnStackInstances",
                "Effect": "Allow",
                "Action": "ssm:SendCommand",
                "Resource": arns.instances(),
                "Condition": {"StringEquals": {f"ssm:resourceTag/{STACK_TAG}": settings.stack}},
            },
            # Only the stack's document (the agent's release/rollback/status), never
            # AWS-RunShellScript: CI gets no shell on the host.
            {
                "Sid": "ReleaseDocument",
                "Effect": "Allow",
                "Action": "ssm:SendCommand",
                "Resource": arns.ssm_document(document_name(settings.stack)),
            },
        ],
    }


def oidc_note(deployer: Deployer) -> str:
    """What `destroy --all` left on purpose: the account-wide GitHub OIDC provider."""
    arn = provider_arn(deployer.arns)
    listed = deployer.clients.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    if arn not in [p["Arn"] for p in listed]:
        return "no GitHub OIDC provider in this account: nothing left behind"
    return (
        f"kept the OIDC provider {ISSUER}: it is one per account, shared by every "
        "repository that deploys with GitHub Actions; if none does, delete it with "
        f"`aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {arn}`"
    )


def plan_provider(deployer: Deployer) -> list[Step]:
    iam = deployer.clients.iam
    arn = provider_arn(deployer.arns)
    listed = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    if arn not in listed:
        return [
            Step(
                "create",
                f"OIDC provider {ISSUER}",
                f"audience {AUDIENCE}",
                lambda ctx: ctx.clients.iam.create_open_id_connect_provider(
                    Url=f"https://{ISSUER}", ClientIDList=[AUDIENCE], ThumbprintList=THUMBPRINTS
                ),
            )
        ]
    audiences = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"]
    if AUDIENCE in audiences:
        return []
    return [
        Step(
            "add",
            f"audience {AUDIENCE}",
            f"to OIDC provider {ISSUER}",
            lambda ctx: ctx.clients.iam.add_client_id_to_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, ClientID=AUDIENCE
            ),
        )
    ]


def setup_github_oidc(deployer: Deployer, repo: str, branch: str) -> str:
    """Create or repair the provider and the role; return the role's ARN."""
    names = Names(deployer.settings.stack, deployer.settings.repository)
    role = Role(
        name=names.ci_role,
        trust_policy=trust_policy(deployer.arns, repo, branch),
        policy_name="ragstream-deploy",
        policy=deploy_policy(deployer.settings, deployer.arns),
    )
    tags: Any = [{"Key": STACK_TAG, "Value": deployer.settings.stack}]
    steps = plan_provider(deployer) + list(plan_role(deployer.clients, role, tags))
    Executor(deployer.echo).execute(steps, Context(deployer.clients))
    return f"arn:{deployer.arns.partition}:iam::{deployer.arns.account}:role/{role.name}"
