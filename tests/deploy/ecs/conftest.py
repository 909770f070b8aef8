"""An account on moto's server with a VPC (two public, two private subnets in two AZs),
a hosted zone and an ACM certificate for the ECS target's tests."""

from __future__ import annotations

from typing import Any

import pytest

from ragstream.deploy.ecs.settings import EcsSettings
from ragstream.deploy.settings import DeploySettings
from tests.deploy.ecs.account import EcsAccount


@pytest.fixture
def ecs_account(aws: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> EcsAccount:
    monkeypatch.chdir(tmp_path)
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = {}
    for i, (tier, zone) in enumerate(
        [("public", "a"), ("public", "b"), ("private", "a"), ("private", "b")]
    ):
        made = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24",
                                 AvailabilityZone=f"{aws.region}{zone}")["Subnet"]["SubnetId"]  # fmt: skip
        if tier == "public":
            ec2.modify_subnet_attribute(SubnetId=made, MapPublicIpOnLaunch={"Value": True})
        subnets.setdefault(tier, []).append(made)
    zone_id = aws.client("route53").create_hosted_zone(Name="example.org", CallerReference="t")[
        "HostedZone"]["Id"].split("/")[-1]  # fmt: skip
    cert = aws.client("acm").request_certificate(DomainName="docs.example.org")["CertificateArn"]
    settings = DeploySettings(region=aws.region, stack="rs-ecs", target="ecs",
                              domain="docs.example.org", hosted_zone_id=zone_id,
                              registry="registry.test:5000")  # fmt: skip
    ecs = EcsSettings(vpc_id=vpc, certificate_arn=cert, db_engine_version="16.3")
    return EcsAccount(aws, settings, ecs, [], subnets["private"])
