"""status: instance, IP, DNS record vs IP (moto's Route 53) and URL health (a real local server)."""

from __future__ import annotations

import http.server
import threading

import pytest

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.status import check_health, gather
from tests.deploy.helpers import launch


class Health(http.server.BaseHTTPRequestHandler):
    code = 200

    def do_GET(self):
        self.send_response(self.code if self.path == "/_stcore/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_health_reads_the_app_endpoint(health_server, monkeypatch):
    assert check_health(health_server, timeout=5) == "ok (200)"
    monkeypatch.setattr(Health, "code", 503)
    assert check_health(health_server, timeout=5) == "failing (HTTP 503)"
    assert check_health("http://127.0.0.1:9", timeout=2).startswith("unreachable")


@pytest.mark.aws
def test_status_compares_dns_with_the_instance_ip(account):
    instance_id = launch(account.aws, account.ami, "rs-test")
    route53 = account.aws.client("route53")
    zone = route53.create_hosted_zone(Name="example.org", CallerReference="status-test")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    record = {
        "Name": "rag.example.org",
        "Type": "A",
        "TTL": 60,
        "ResourceRecords": [{"Value": "198.51.100.1"}],
    }
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
    )
    settings = account.settings.replace(domain="rag.example.org", hosted_zone_id=zone_id)
    clients = AwsClients(settings)

    status = gather(clients, settings, ask_host=False, timeout=0.5)
    assert (status.instance_id, status.state) == (instance_id, "running")
    assert status.public_ip and status.dns == (
        "rag.example.org -> 198.51.100.1 (DOES NOT MATCH the instance)"
    )
    assert any("DNS is not pointing at the instance" in p for p in status.problems)
    assert status.url == "https://rag.example.org"

    record["ResourceRecords"] = [{"Value": status.public_ip}]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
    )
    status = gather(clients, settings, ask_host=False, timeout=0.5)
    assert status.dns == f"rag.example.org -> {status.public_ip} (matches)"
    # DNS is fine now; the URL itself is not reachable from here, and that is a problem too
    assert [p.split(" (")[0] for p in status.problems] == ["https://rag.example.org is unreachable"]


@pytest.mark.aws
def test_status_without_a_stack_says_to_apply(account):
    status = gather(AwsClients(account.settings), account.settings)
    assert status.state == "absent"
    assert status.problems == ["no instance: run `ragstream deploy apply`"]
    result = account.run("status")
    assert result.exit_code == 1  # something is wrong: say so to scripts too
    assert "problem: no instance: run `ragstream deploy apply`" in result.output
