"""`destroy --all`: also the A record the host wrote; the shared OIDC provider is kept, and said."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.aws


def test_destroy_all_removes_the_record_and_explains_the_provider(account):
    route53 = account.aws.client("route53")
    zone = route53.create_hosted_zone(Name="example.org", CallerReference="destroy-all")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    flags = {"domain": "rag.example.org", "hosted_zone_id": zone_id}
    assert account.run("apply", **flags).exit_code == 0
    record = {
        "Name": "rag.example.org",
        "Type": "A",
        "TTL": 60,
        "ResourceRecords": [{"Value": "198.51.100.7"}],
    }
    route53.change_resource_record_sets(  # what `ragstream-host dns` does at boot
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
    )
    assert account.run("github-oidc", "--repo", "octo-org/ragstream", **flags).exit_code == 0

    kept = account.run("destroy", "--confirm", "rs-test", **flags)
    assert kept.exit_code == 0, kept.output
    assert "DNS A record" not in kept.output  # without --all the name keeps pointing

    result = account.run("destroy", "--all", "--confirm", "rs-test", **flags)
    assert result.exit_code == 0, result.output
    assert "delete DNS A record rag.example.org.: 198.51.100.7" in result.output
    assert "kept the OIDC provider token.actions.githubusercontent.com" in result.output
    assert "delete-open-id-connect-provider" in result.output
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert [s["Type"] for s in sets if s["Name"] == "rag.example.org."] == []
    roles = [r["RoleName"] for r in account.aws.client("iam").list_roles()["Roles"]]
    assert "rs-test-github-deploy" not in roles
