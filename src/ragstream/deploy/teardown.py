"""Plan `destroy`: everything `apply` made, found by the stack tag, in reverse order.

The /data volume, the SSM parameter and the ECR repository (with its images) survive
unless `everything`: they hold what is expensive or impossible to recreate (the index and
uploads, the key, the built images). `apply` reattaches a kept data volume.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.compute import release_address
from ragstream.deploy.document import document_name
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import (
    LIVE_STATES,
    find_addresses,
    find_data_volumes,
    find_instances,
    find_security_group,
    get_or_none,
    retry_while,
)
from ragstream.deploy.resources import STACK_TAG, Names
from ragstream.deploy.settings import DeploySettings


def plan_destroy(clients: AwsClients, settings: DeploySettings, everything: bool) -> Iterator[Step]:
    names = Names(settings.stack, settings.repository)
    instances = [i["InstanceId"] for i in find_instances(clients, settings.stack, LIVE_STATES)]
    if instances:

        def terminate(ctx: Context) -> None:
            ctx.clients.ec2.terminate_instances(InstanceIds=instances)
            ctx.clients.ec2.get_waiter("instance_terminated").wait(InstanceIds=instances)

        yield Step(
            "terminate",
            f"EC2 instance(s) {', '.join(instances)}",
            "and their root volumes" + ("" if everything else " (the data volume is kept)"),
            terminate,
        )
    for address in find_addresses(clients, settings.stack):
        yield Step(
            "release",
            f"Elastic IP {address['PublicIp']}",
            "",
            lambda ctx, a=address: release_address(ctx, a),
        )
    group = find_security_group(clients, settings.stack, names.security_group)
    if group is not None:
        # Network interfaces of a just-terminated instance hold the group for a while.
        yield Step(
            "delete",
            f"security group {names.security_group}",
            group["GroupId"],
            lambda ctx: retry_while(
                {"DependencyViolation"},
                lambda: ctx.clients.ec2.delete_security_group(GroupId=group["GroupId"]),
                seconds=300,
            ),
        )
    yield from _plan_delete_role(clients, names.role, names.instance_profile)
    document = document_name(settings.stack)
    if get_or_none(lambda: clients.ssm.get_document(Name=document), "InvalidDocument"):
        yield Step(
            "delete",
            f"SSM document {document}",
            "",
            lambda ctx: ctx.clients.ssm.delete_document(Name=document),
        )
    parameter = names.host_config_parameter
    if get_or_none(lambda: clients.ssm.get_parameter(Name=parameter), "ParameterNotFound"):
        yield Step(
            "delete",
            f"host config {parameter}",
            "",
            lambda ctx: ctx.clients.ssm.delete_parameter(Name=parameter),
        )
    if everything:
        yield from _plan_delete_record(clients, settings)
        for volume in find_data_volumes(clients, settings.stack):
            yield Step(
                "delete",
                f"data volume {volume['VolumeId']}",
                f"{volume['Size']} GB: the index and uploads of /data",
                lambda ctx, v=volume["VolumeId"]: retry_while(
                    {"VolumeInUse", "IncorrectState"},
                    lambda: ctx.clients.ec2.delete_volume(VolumeId=v),
                    seconds=300,
                ),
            )
        yield from _plan_delete_role(clients, names.ci_role, None)
        yield from _plan_delete_everything(clients, settings)


def _plan_delete_record(clients: AwsClients, settings: DeploySettings) -> Iterator[Step]:
    """The A record the host wrote at boot (Route 53 needs the exact record to delete it)."""
    if not (settings.domain and settings.hosted_zone_id):
        return
    zone, name = settings.hosted_zone_id, settings.domain.rstrip(".") + "."
    records = clients.route53.list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, StartRecordType="A", MaxItems="1"
    )["ResourceRecordSets"]
    for record in records:
        if record["Name"] == name and record["Type"] == "A":
            values = ", ".join(r["Value"] for r in record.get("ResourceRecords", []))
            yield Step(
                "delete",
                f"DNS A record {name}",
                values,
                lambda ctx, r=record: ctx.clients.route53.change_resource_record_sets(
                    HostedZoneId=zone,
                    ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": r}]},
                ),
            )


def _plan_delete_role(clients: AwsClients, role: str, profile: str | None) -> Iterator[Step]:
    iam = clients.iam
    if profile and get_or_none(
        lambda: iam.get_instance_profile(InstanceProfileName=profile), "NoSuchEntity"
    ):

        def delete_profile(ctx: Context) -> None:
            found = ctx.clients.iam.get_instance_profile(InstanceProfileName=profile)
            for attached in found["InstanceProfile"]["Roles"]:
                ctx.clients.iam.remove_role_from_instance_profile(
                    InstanceProfileName=profile, RoleName=attached["RoleName"]
                )
            ctx.clients.iam.delete_instance_profile(InstanceProfileName=profile)

        yield Step("delete", f"instance profile {profile}", "", delete_profile)
    found = get_or_none(lambda: iam.get_role(RoleName=role), "NoSuchEntity")
    if found is None or not _is_ours(found["Role"].get("Tags", []), clients, role):
        return

    def delete_role(ctx: Context) -> None:
        iam = ctx.clients.iam
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        for policy in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
        iam.delete_role(RoleName=role)

    yield Step("delete", f"IAM role {role}", "with its policies", delete_role)


def _is_ours(tags: list[Any], clients: AwsClients, role: str) -> bool:
    # get_role does not always return tags; ask for them explicitly before deleting.
    tags = tags or clients.iam.list_role_tags(RoleName=role)["Tags"]
    return any(tag["Key"] == STACK_TAG for tag in tags)


def _plan_delete_everything(clients: AwsClients, settings: DeploySettings) -> Iterator[Step]:
    repo = settings.repository
    if get_or_none(
        lambda: clients.ecr.describe_repositories(repositoryNames=[repo]),
        "RepositoryNotFoundException",
    ):
        yield Step(
            "delete",
            f"ECR repository {repo}",
            "and all its images",
            lambda ctx: ctx.clients.ecr.delete_repository(repositoryName=repo, force=True),
        )
    name = settings.ssm_parameter
    if get_or_none(lambda: clients.ssm.get_parameter(Name=name), "ParameterNotFound"):
        yield Step(
            "delete",
            f"SSM parameter {name}",
            "",
            lambda ctx: ctx.clients.ssm.delete_parameter(Name=name),
        )


def kept_volumes(clients: AwsClients, settings: DeploySettings) -> list[str]:
    """Where the data is after a `destroy` without --all: one line per kept volume."""
    return [
        f"data volume {v['VolumeId']} ({v['Size']} GB in {v['AvailabilityZone']}) is kept: "
        "`apply` reattaches it, `destroy --all` deletes it"
        for v in find_data_volumes(clients, settings.stack)
    ]
