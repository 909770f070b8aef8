"""Plan the EC2 side of a stack: security group and its rules, the instance, the Elastic IP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import (
    LIVE_STATES,
    find_addresses,
    find_data_volumes,
    find_instances,
    find_security_group,
    resolve_ami,
    retry_while,
)
from ragstream.deploy.resources import (
    BOOTSTRAP_TAG,
    DATA_DEVICE,
    VOLUME_TAG,
    IngressRule,
    Instance,
    SecurityGroup,
    Stack,
)
from ragstream.errors import DeployError

METADATA: Any = {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}
# Right after create_instance_profile, EC2 may not see the profile for a few seconds.
IAM_NOT_YET = {"InvalidParameterValue", "InvalidIamInstanceProfile.NotFound"}


def tag_specs(stack: Stack, kind: str, name: str) -> list[Any]:
    tags = [{"Key": k, "Value": v} for k, v in stack.tags] + [{"Key": "Name", "Value": name}]
    return [{"ResourceType": kind, "Tags": tags}]


def instance_tags(stack: Stack) -> list[Any]:
    specs = tag_specs(stack, "instance", stack.instance.name)
    if stack.instance.bootstrap:
        specs[0]["Tags"].append({"Key": BOOTSTRAP_TAG, "Value": stack.instance.bootstrap})
    return specs


def plan_security_group(clients: AwsClients, stack: Stack) -> Iterator[Step]:
    group: SecurityGroup = stack.security_group
    found = find_security_group(clients, stack.name, group.name)
    if found is None:

        def create(ctx: Context) -> None:
            vpcs = ctx.clients.ec2.describe_vpcs(
                Filters=[{"Name": "is-default", "Values": ["true"]}]
            )
            if not vpcs["Vpcs"]:
                raise DeployError(
                    f"region {ctx.clients.region} has no default VPC: create one with "
                    "`aws ec2 create-default-vpc` and run apply again"
                )
            created = ctx.clients.ec2.create_security_group(
                GroupName=group.name,
                Description=group.description,
                VpcId=vpcs["Vpcs"][0]["VpcId"],
                TagSpecifications=tag_specs(stack, "security-group", group.name),
            )
            ctx.values["security_group_id"] = created["GroupId"]

        yield Step("create", f"security group {group.name}", "in the default VPC", create)
        yield from plan_rules(None, [], group.rules, group.name)
    else:
        yield from plan_rules(found["GroupId"], found["IpPermissions"], group.rules, group.name)


def plan_rules(
    group_id: str | None, current: list[Any], wanted: frozenset[IngressRule], name: str
) -> Iterator[Step]:
    """Ingress drift: authorize missing rules, revoke any rule the settings do not ask for."""
    have: dict[IngressRule, Any] = {}
    extra: list[tuple[str, Any]] = []
    for perm in current:
        base = {k: perm[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in perm}
        for ip_range in perm.get("IpRanges", []):
            raw = {**base, "IpRanges": [{"CidrIp": ip_range["CidrIp"]}]}
            if perm.get("IpProtocol") == "tcp" and perm.get("FromPort") == perm.get("ToPort"):
                have[IngressRule(int(perm["FromPort"]), ip_range["CidrIp"])] = raw
            else:
                extra.append((f"{perm.get('IpProtocol')} {ip_range['CidrIp']}", raw))
        for ip_range in perm.get("Ipv6Ranges", []):
            raw = {**base, "Ipv6Ranges": [{"CidrIpv6": ip_range["CidrIpv6"]}]}
            extra.append((f"{perm.get('IpProtocol')} {ip_range['CidrIpv6']}", raw))
        # Rules naming another security group or a prefix list: never ours, always drift.
        for pair in perm.get("UserIdGroupPairs", []):
            raw = {**base, "UserIdGroupPairs": [{"GroupId": pair["GroupId"]}]}
            extra.append((f"{_ports(perm)} from security group {pair['GroupId']}", raw))
        for prefix in perm.get("PrefixListIds", []):
            raw = {**base, "PrefixListIds": [{"PrefixListId": prefix["PrefixListId"]}]}
            extra.append((f"{_ports(perm)} from prefix list {prefix['PrefixListId']}", raw))
    extra += [(str(rule), raw) for rule, raw in have.items() if rule not in wanted]
    for rule in sorted(wanted - set(have)):
        permission = {
            "IpProtocol": rule.protocol,
            "FromPort": rule.port,
            "ToPort": rule.port,
            "IpRanges": [{"CidrIp": rule.cidr}],
        }
        yield Step(
            "authorize",
            f"ingress {rule}",
            f"on security group {name}",
            lambda ctx, p=permission: ctx.clients.ec2.authorize_security_group_ingress(
                GroupId=group_id or ctx.need("security_group_id"), IpPermissions=[p]
            ),
        )
    for label, raw in sorted(extra, key=lambda item: item[0]):
        yield Step(
            "revoke",
            f"ingress {label}",
            f"on security group {name} (not in the settings)",
            lambda ctx, p=raw: ctx.clients.ec2.revoke_security_group_ingress(
                GroupId=group_id or ctx.need("security_group_id"), IpPermissions=[p]
            ),
        )


def _ports(perm: Any) -> str:
    if perm.get("IpProtocol") == "-1":
        return "all traffic"
    low, high = perm.get("FromPort"), perm.get("ToPort")
    return f"{perm.get('IpProtocol')}/{low}" + ("" if low == high else f"-{high}")


def plan_instance(
    clients: AwsClients, stack: Stack, user_data: Callable[[str], bytes]
) -> Iterator[Step]:
    """`user_data(registry)` renders the host's cloud-config; called only when creating."""
    spec: Instance = stack.instance
    live = find_instances(clients, stack.name, LIVE_STATES)
    if not live:
        yield create_step(clients, stack, user_data)
        return
    ami = resolve_ami(clients, spec.ami_parameter, spec.ami)
    group = stack.security_group
    found = find_security_group(clients, stack.name, group.name)
    group_id = found["GroupId"] if found else None
    for instance in live:
        instance_id = instance["InstanceId"]
        reasons = replacement_reasons(instance, ami, spec.bootstrap)
        if reasons:
            yield Step(
                "replace",
                f"EC2 instance {instance_id}",
                f"{'; '.join(reasons)}: terminates it and launches a new one "
                "(the data volume is kept and reattached)",
                lambda ctx, i=instance_id: replace_instance(ctx, stack, i, ami, user_data),
            )
            continue
        options = instance.get("MetadataOptions", {})
        if (options.get("HttpTokens"), options.get("HttpPutResponseHopLimit")) != ("required", 1):
            yield Step(
                "update",
                f"EC2 instance {instance_id}",
                "require IMDSv2, hop limit 1",
                lambda ctx, i=instance_id: ctx.clients.ec2.modify_instance_metadata_options(
                    InstanceId=i, **METADATA
                ),
            )
        groups = sorted(g["GroupId"] for g in instance.get("SecurityGroups", []))
        if group_id is not None and groups != [group_id]:
            yield Step(
                "update",
                f"EC2 instance {instance_id}",
                f"security groups {', '.join(groups) or 'none'} -> {group_id} ({group.name})",
                lambda ctx, i=instance_id: ctx.clients.ec2.modify_instance_attribute(
                    InstanceId=i, Groups=[group_id]
                ),
            )
        if instance["InstanceType"] != spec.instance_type:
            yield Step(
                "resize",
                f"EC2 instance {instance_id}",
                f"{instance['InstanceType']} -> {spec.instance_type} (stops and starts it)",
                lambda ctx, i=instance_id: resize(ctx, i, spec.instance_type),
            )
        elif instance["State"]["Name"] in ("stopped", "stopping"):
            yield Step(
                "start",
                f"EC2 instance {instance_id}",
                "it is stopped",
                lambda ctx, i=instance_id: ctx.clients.ec2.start_instances(InstanceIds=[i]),
            )


def replacement_reasons(instance: Any, ami: str, bootstrap: str) -> list[str]:
    """What only a new instance can change: the AMI and the user data's bootstrap part."""
    reasons = []
    if instance.get("ImageId") != ami:
        reasons.append(f"AMI {instance.get('ImageId')} -> {ami}")
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    if bootstrap and tags.get(BOOTSTRAP_TAG) != bootstrap:
        was = tags.get(BOOTSTRAP_TAG, "none")
        reasons.append(f"user data (agent, unit, packages) {was} -> {bootstrap}")
    return reasons


def replace_instance(
    ctx: Context, stack: Stack, instance_id: str, ami: str, user_data: Callable[[str], bytes]
) -> None:
    ec2 = ctx.clients.ec2
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id])
    launch(ctx, stack, ami, user_data)
    for address in find_addresses(ctx.clients, stack.name):  # the Elastic IP follows
        ec2.associate_address(
            AllocationId=address["AllocationId"], InstanceId=ctx.need("instance_id")
        )


def create_step(clients: AwsClients, stack: Stack, user_data: Callable[[str], bytes]) -> Step:
    spec: Instance = stack.instance
    ami = resolve_ami(clients, spec.ami_parameter, spec.ami)
    kept = [v for v in find_data_volumes(clients, stack.name) if v["State"] == "available"]
    data = (
        f"reattach kept data volume {kept[0]['VolumeId']} ({kept[0]['Size']} GB)"
        if kept
        else f"new data volume {spec.data_volume_gb} GB (kept on termination)"
    )
    detail = (
        f"{spec.instance_type}, {ami}, gp3 encrypted {spec.root_volume_gb} GB root, {data}, IMDSv2"
    )
    return Step(
        "create",
        f"EC2 instance {spec.name}",
        detail,
        lambda ctx: launch(ctx, stack, ami, user_data),
    )


def launch(ctx: Context, stack: Stack, ami: str, user_data: Callable[[str], bytes]) -> None:
    """Run the instance; reattach the stack's kept /data volume, or make one that outlives it."""
    spec: Instance = stack.instance
    ec2 = ctx.clients.ec2
    image = ec2.describe_images(ImageIds=[ami])["Images"][0]
    volume: Any = {"VolumeType": "gp3", "Encrypted": True}
    mappings: list[Any] = [
        {
            "DeviceName": image.get("RootDeviceName", "/dev/sda1"),
            "Ebs": {**volume, "VolumeSize": spec.root_volume_gb, "DeleteOnTermination": True},
        }
    ]
    # Looked up again here (not at plan time): apply may have just terminated the old one.
    kept = [v for v in find_data_volumes(ctx.clients, stack.name) if v["State"] == "available"]
    extra: Any = {}
    if kept:  # a volume lives in one zone: the instance must start there
        extra["Placement"] = {"AvailabilityZone": kept[0]["AvailabilityZone"]}
    else:
        mappings.append(
            {
                "DeviceName": DATA_DEVICE,
                # Never deleted with the instance: /data holds the index and the uploads.
                "Ebs": {**volume, "VolumeSize": spec.data_volume_gb, "DeleteOnTermination": False},
            }
        )
    launched = retry_while(
        IAM_NOT_YET,
        lambda: ec2.run_instances(
            ImageId=ami,
            InstanceType=spec.instance_type,  # type: ignore[arg-type]
            MinCount=1,
            MaxCount=1,
            # gzip bytes (cloud-init gunzips them); botocore base64-encodes bytes as they are.
            UserData=user_data(ctx.need("registry")),  # type: ignore[arg-type]
            IamInstanceProfile={"Name": spec.instance_profile},
            SecurityGroupIds=[ctx.need("security_group_id")],
            MetadataOptions=METADATA,
            BlockDeviceMappings=mappings,
            TagSpecifications=instance_tags(stack) + tag_specs(stack, "volume", spec.name),
            **extra,
        ),
    )
    instance_id = launched["Instances"][0]["InstanceId"]
    ctx.values["instance_id"] = instance_id
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id])
    if kept:
        volume_id = kept[0]["VolumeId"]
        ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=DATA_DEVICE)
        ec2.get_waiter("volume_in_use").wait(VolumeIds=[volume_id])
        return
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    for mapping in found.get("BlockDeviceMappings", []):
        if mapping["DeviceName"] == DATA_DEVICE:
            ec2.create_tags(
                Resources=[mapping["Ebs"]["VolumeId"]],
                Tags=[
                    {"Key": VOLUME_TAG, "Value": "data"},
                    {"Key": "Name", "Value": f"{stack.name}-data"},
                ],
            )


def resize(ctx: Context, instance_id: str, instance_type: str) -> None:
    """The type can only change while stopped; the data volume and Elastic IP stay."""
    ec2 = ctx.clients.ec2
    ec2.stop_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id])
    ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": instance_type})
    ec2.start_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id])


def plan_elastic_ip(clients: AwsClients, stack: Stack) -> Iterator[Step]:
    addresses = find_addresses(clients, stack.name)
    if not stack.elastic_ip:
        for address in addresses:
            yield Step(
                "release",
                f"Elastic IP {address['PublicIp']}",
                "elastic_ip is off",
                lambda ctx, a=address: release_address(ctx, a),
            )
        return
    if not addresses:

        def allocate(ctx: Context) -> None:
            created = ctx.clients.ec2.allocate_address(
                Domain="vpc", TagSpecifications=tag_specs(stack, "elastic-ip", stack.name)
            )
            ctx.clients.ec2.associate_address(
                AllocationId=created["AllocationId"], InstanceId=ctx.need("instance_id")
            )

        yield Step("allocate", "Elastic IP", "and associate it with the instance", allocate)
        return
    address = addresses[0]
    live = find_instances(clients, stack.name, LIVE_STATES)
    if live and address.get("InstanceId") != live[0]["InstanceId"]:
        yield Step(
            "associate",
            f"Elastic IP {address['PublicIp']}",
            f"with {live[0]['InstanceId']}",
            lambda ctx: ctx.clients.ec2.associate_address(
                AllocationId=address["AllocationId"], InstanceId=ctx.need("instance_id")
            ),
        )


def release_address(ctx: Context, address: Any) -> None:
    if address.get("AssociationId"):
        ctx.clients.ec2.disassociate_address(AssociationId=address["AssociationId"])
    ctx.clients.ec2.release_address(AllocationId=address["AllocationId"])
