"""VPC and subnets (looked up, never created) and the three security groups.

The chain ALB -> tasks -> database is what keeps the app and the database off the
internet: tasks accept only the ALB's group on the app port, the database only the
tasks' group on 5432. Any other rule found on these groups is drift and is revoked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ragstream.deploy.ecs.clients import EcsClients
from ragstream.deploy.ecs.resources import EcsStack, Group, Rule
from ragstream.deploy.ecs.settings import EcsSettings
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import stack_filter
from ragstream.errors import ConfigError


@dataclass(frozen=True)
class Network:
    vpc_id: str
    public: tuple[str, ...]
    private: tuple[str, ...]


def find_network(clients: EcsClients, e: EcsSettings) -> Network:
    ec2 = clients.ec2
    if e.vpc_id:
        vpc_id = e.vpc_id
    else:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise ConfigError(f"region {clients.region} has no default VPC: set vpc_id in [ecs]")
        vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    public = e.public_subnets or tuple(
        sorted(s["SubnetId"] for s in subnets if s.get("MapPublicIpOnLaunch"))
    )
    private = e.private_subnets or tuple(
        sorted(s["SubnetId"] for s in subnets if not s.get("MapPublicIpOnLaunch"))
    )
    for label, chosen in (("public_subnets", public), ("private_subnets", private)):
        zones = {s["AvailabilityZone"] for s in subnets if s["SubnetId"] in chosen}
        if len(zones) < 2:
            raise ConfigError(
                f"[ecs] {label}: VPC {vpc_id} needs subnets in two availability zones "
                f"(found {len(zones)}); name them in ragstream.deploy.toml"
            )
    return Network(vpc_id, public, private)


def find_group(clients: EcsClients, stack: str, name: str) -> Any | None:
    groups = clients.ec2.describe_security_groups(
        Filters=[*stack_filter(stack), {"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    return groups[0] if groups else None


def group_key(name: str) -> str:
    return f"sg:{name}"


def plan_groups(clients: EcsClients, stack: EcsStack, net: Network, ctx: Context) -> Iterator[Step]:
    tags = [{"Key": k, "Value": v} for k, v in stack.tags]
    for group in stack.groups:
        found = find_group(clients, stack.name, group.name)
        if found is not None:
            ctx.values[group_key(group.name)] = found["GroupId"]
            continue

        def create(c: Any, g: Group = group) -> None:
            made = c.clients.ec2.create_security_group(
                GroupName=g.name, Description=g.description, VpcId=net.vpc_id,
                TagSpecifications=[{"ResourceType": "security-group",
                                    "Tags": [*tags, {"Key": "Name", "Value": g.name}]}],
            )  # fmt: skip
            c.values[group_key(g.name)] = made["GroupId"]

        yield Step("create", f"security group {group.name}", f"in {net.vpc_id}", create)
    for group in stack.groups:
        found = find_group(clients, stack.name, group.name)
        yield from plan_group_rules(group, found["IpPermissions"] if found else [], ctx)


def plan_group_rules(group: Group, current: list[Any], known: Context) -> Iterator[Step]:
    names_by_id = {v: k.removeprefix("sg:") for k, v in known.values.items() if k.startswith("sg:")}
    have: dict[Rule, Any] = {}
    extra: list[tuple[str, Any]] = []
    for perm in current:
        base = {k: perm[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in perm}
        single = perm.get("IpProtocol") == "tcp" and perm.get("FromPort") == perm.get("ToPort")
        for r in perm.get("IpRanges", []):
            raw = {**base, "IpRanges": [{"CidrIp": r["CidrIp"]}]}
            found = Rule(int(perm["FromPort"]), r["CidrIp"]) if single else None
            if found is not None:
                have[found] = raw
            else:
                extra.append((f"{perm.get('IpProtocol')} {r['CidrIp']}", raw))
        for pair in perm.get("UserIdGroupPairs", []):
            raw = {**base, "UserIdGroupPairs": [{"GroupId": pair["GroupId"]}]}
            source = names_by_id.get(pair["GroupId"])
            if single and source:
                have[Rule(int(perm["FromPort"]), f"sg:{source}")] = raw
            else:
                extra.append(
                    (f"{perm.get('IpProtocol')}/{perm.get('FromPort')} from {pair['GroupId']}", raw)
                )
        for r6 in perm.get("Ipv6Ranges", []):
            extra.append(
                (
                    f"{perm.get('IpProtocol')} {r6['CidrIpv6']}",
                    {**base, "Ipv6Ranges": [{"CidrIpv6": r6["CidrIpv6"]}]},
                )
            )
    extra += [(str(r), raw) for r, raw in have.items() if r not in group.rules]
    key = group_key(group.name)
    for wanted in sorted(group.rules - set(have), key=str):
        yield Step("authorize", f"ingress {wanted}", f"on security group {group.name}",
                   lambda c, r=wanted: c.clients.ec2.authorize_security_group_ingress(
                       GroupId=c.need(key), IpPermissions=[_permission(c, r)]))  # fmt: skip
    for label, raw in sorted(extra, key=lambda item: item[0]):
        yield Step("revoke", f"ingress {label}", f"on security group {group.name} (not in the plan)",
                   lambda c, p=raw: c.clients.ec2.revoke_security_group_ingress(
                       GroupId=c.need(key), IpPermissions=[p]))  # fmt: skip


def _permission(ctx: Context, rule: Rule) -> Any:
    base: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": rule.port, "ToPort": rule.port}
    if rule.source.startswith("sg:"):
        return {**base, "UserIdGroupPairs": [{"GroupId": ctx.need(rule.source)}]}
    return {**base, "IpRanges": [{"CidrIp": rule.source}]}
