"""The way in: ALB in the public subnets, one target group (sticky, health-checked),
HTTPS with the domain's ACM certificate (HTTP only redirects), a Route 53 alias.

Stickiness matters: Streamlit keeps one WebSocket per browser session, and a session's
state lives in the replica that opened it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ragstream.deploy.ecs.clients import EcsClients
from ragstream.deploy.ecs.network import Network, group_key
from ragstream.deploy.ecs.resources import APP_PORT, HEALTH_PATH, EcsNames, EcsStack
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import get_or_none
from ragstream.deploy.settings import DeploySettings
from ragstream.errors import ConfigError

STICKY = {
    "stickiness.enabled": "true",
    "stickiness.type": "lb_cookie",
    "stickiness.lb_cookie.duration_seconds": "86400",
    "deregistration_delay.timeout_seconds": "30",
}
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def certificate(clients: EcsClients, domain: str, pinned: str | None) -> str:
    if pinned:
        return pinned
    pages = clients.acm.get_paginator("list_certificates").paginate(CertificateStatuses=["ISSUED"])
    for page in pages:
        for cert in page["CertificateSummaryList"]:
            if cert["DomainName"] == domain:
                return str(cert["CertificateArn"])
    raise ConfigError(
        f"no ISSUED ACM certificate for {domain} in {clients.region}: request one "
        "(aws acm request-certificate --validation-method DNS) or set certificate_arn in [ecs]"
    )


def find_alb(clients: EcsClients, name: str) -> Any | None:
    found = get_or_none(lambda: clients.elbv2.describe_load_balancers(Names=[name]),
                        "LoadBalancerNotFound")  # fmt: skip
    return found["LoadBalancers"][0] if found else None


def find_target_group(clients: EcsClients, name: str) -> Any | None:
    found = get_or_none(lambda: clients.elbv2.describe_target_groups(Names=[name]),
                        "TargetGroupNotFound")  # fmt: skip
    return found["TargetGroups"][0] if found else None


def plan_edge(
    clients: EcsClients, s: DeploySettings, stack: EcsStack, net: Network, ctx: Context,
    cert: str | None,
) -> Iterator[Step]:  # fmt: skip
    names = EcsNames(stack.name)
    elbv2 = clients.elbv2
    tags = [{"Key": k, "Value": v} for k, v in stack.tags]
    alb = find_alb(clients, names.alb)
    if alb is None:

        def create_alb(c: Any) -> None:
            made = c.clients.elbv2.create_load_balancer(
                Name=names.alb, Subnets=list(net.public), Scheme="internet-facing",
                Type="application", SecurityGroups=[c.need(group_key(names.alb))], Tags=tags,
            )["LoadBalancers"][0]  # fmt: skip
            c.values.update(alb_arn=made["LoadBalancerArn"], alb_dns=made["DNSName"],
                            alb_zone=made["CanonicalHostedZoneId"])  # fmt: skip

        yield Step(
            "create", f"load balancer {names.alb}", "internet-facing, public subnets", create_alb
        )
    else:
        ctx.values.update(alb_arn=alb["LoadBalancerArn"], alb_dns=alb["DNSName"],
                          alb_zone=alb["CanonicalHostedZoneId"])  # fmt: skip
    group = find_target_group(clients, names.web)
    if group is None:

        def create_tg(c: Any) -> None:
            made = c.clients.elbv2.create_target_group(
                Name=names.web, Protocol="HTTP", Port=APP_PORT, VpcId=net.vpc_id,
                TargetType="ip", HealthCheckPath=HEALTH_PATH, HealthCheckIntervalSeconds=15,
                HealthyThresholdCount=2, UnhealthyThresholdCount=3, Matcher={"HttpCode": "200"},
                Tags=tags,
            )["TargetGroups"][0]  # fmt: skip
            c.values["tg_arn"] = made["TargetGroupArn"]
            _sticky(c)

        yield Step(
            "create",
            f"target group {names.web}",
            f"health {HEALTH_PATH}, sticky sessions",
            create_tg,
        )
    else:
        ctx.values["tg_arn"] = group["TargetGroupArn"]
        if group.get("HealthCheckPath") != HEALTH_PATH:
            yield Step("update", f"target group {names.web}", f"health check {HEALTH_PATH}",
                       lambda c: c.clients.elbv2.modify_target_group(
                           TargetGroupArn=c.need("tg_arn"), HealthCheckPath=HEALTH_PATH))  # fmt: skip
        attrs = {a["Key"]: a["Value"] for a in
                 elbv2.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]}  # fmt: skip
        drift = sorted(k for k, v in STICKY.items() if attrs.get(k) != v)
        if drift:
            yield Step("update", f"target group {names.web}",
                       "sticky sessions: " + ", ".join(f"{k}={attrs.get(k)}->{STICKY[k]}" for k in drift),
                       _sticky)  # fmt: skip
    yield from _plan_listeners(clients, names, alb, cert)
    if s.domain and s.hosted_zone_id:
        yield from _plan_alias(clients, s, ctx)


def _sticky(c: Any) -> None:
    c.clients.elbv2.modify_target_group_attributes(
        TargetGroupArn=c.need("tg_arn"),
        Attributes=[{"Key": k, "Value": v} for k, v in STICKY.items()],
    )


def _plan_listeners(
    clients: EcsClients, names: EcsNames, alb: Any | None, cert: str | None
) -> Iterator[Step]:
    have = {} if alb is None else {
        x["Port"]: x for x in clients.elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]}  # fmt: skip
    forward = lambda c: [{"Type": "forward", "TargetGroupArn": c.need("tg_arn")}]  # noqa: E731
    redirect = [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
    ]
    wanted: dict[int, tuple[str, Any]] = {}
    if cert:
        wanted[443] = ("HTTPS, certificate from ACM", lambda c: dict(
            Protocol="HTTPS", Port=443, SslPolicy=TLS_POLICY, Certificates=[{"CertificateArn": cert}],
            DefaultActions=forward(c)))  # fmt: skip
        wanted[80] = (
            "redirect to HTTPS",
            lambda c: dict(Protocol="HTTP", Port=80, DefaultActions=redirect),
        )
    else:
        wanted[80] = (
            "HTTP (no domain set)",
            lambda c: dict(Protocol="HTTP", Port=80, DefaultActions=forward(c)),
        )
    for port, (detail, spec) in sorted(wanted.items()):
        current = have.get(port)
        if current is None:
            yield Step("create", f"listener :{port}", detail,
                       lambda c, spec=spec: c.clients.elbv2.create_listener(LoadBalancerArn=c.need("alb_arn"), **spec(c)))  # fmt: skip
            continue
        certs = [x["CertificateArn"] for x in current.get("Certificates", [])]
        kind = current["DefaultActions"][0]["Type"]
        if (port == 443 and certs != [cert]) or kind != (
            "redirect" if port == 80 and cert else "forward"
        ):
            yield Step("update", f"listener :{port}", detail,
                       lambda c, spec=spec, arn=current["ListenerArn"]: c.clients.elbv2.modify_listener(
                           ListenerArn=arn, **{k: v for k, v in spec(c).items() if k != "Port"}))  # fmt: skip
    for port in sorted(set(have) - set(wanted)):
        yield Step("delete", f"listener :{port}", "not in the plan",
                   lambda c, arn=have[port]["ListenerArn"]: c.clients.elbv2.delete_listener(ListenerArn=arn))  # fmt: skip


def _plan_alias(clients: EcsClients, s: DeploySettings, ctx: Context) -> Iterator[Step]:
    assert s.domain and s.hosted_zone_id
    name = s.domain.rstrip(".") + "."
    records = clients.route53.list_resource_record_sets(
        HostedZoneId=s.hosted_zone_id, StartRecordName=name, StartRecordType="A", MaxItems="1"
    )["ResourceRecordSets"]
    current: Any = next((r for r in records if r["Name"] == name and r["Type"] == "A"), None)
    alias: Any = (current or {}).get("AliasTarget") or {}
    target = str(alias.get("DNSName", "")).rstrip(".").lower()
    if current is not None and "alb_dns" in ctx.values and target == ctx.values["alb_dns"].lower():
        return

    def upsert(c: Any) -> None:
        c.clients.route53.change_resource_record_sets(
            HostedZoneId=s.hosted_zone_id or "",
            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": name, "Type": "A", "AliasTarget": {
                    "HostedZoneId": c.need("alb_zone"), "DNSName": c.need("alb_dns"),
                    "EvaluateTargetHealth": True}}}]},
        )  # fmt: skip

    yield Step("upsert", f"Route 53 alias {name}", "-> the load balancer", upsert)
