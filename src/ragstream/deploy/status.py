"""`status`: what runs where, as one report (instance, IP, DNS, running image, health)."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.lookup import LIVE_STATES, find_instances
from ragstream.deploy.release import run_on_stack, status_command
from ragstream.deploy.settings import DeploySettings
from ragstream.host.config import HEALTH_PATH


@dataclass
class Status:
    stack: str
    instance_id: str | None = None
    state: str = "absent"
    public_ip: str | None = None
    dns: str | None = None  # "rag.example.com -> 1.2.3.4 (matches)" or a mismatch note
    host: str | None = None  # the host agent's own status (running tag, digest)
    url: str | None = None
    health: str = "unknown"
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        rows = [
            ("stack", self.stack),
            ("instance", f"{self.instance_id or '-'} ({self.state})"),
            ("public ip", self.public_ip or "-"),
            ("dns", self.dns or "no domain set"),
            ("url", self.url or "-"),
            ("health", self.health),
        ]
        text = [f"{key:<10} {value}" for key, value in rows]
        if self.host:
            text += ["host:"] + [f"  {line}" for line in self.host.strip().splitlines()]
        return text + [f"problem: {p}" for p in self.problems]


def check_health(url: str, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=timeout) as response:
            return f"ok ({response.status})"
    except urllib.error.HTTPError as exc:
        return f"failing (HTTP {exc.code})"
    except (OSError, ValueError) as exc:
        return f"unreachable ({getattr(exc, 'reason', exc)})"


def dns_record(clients: AwsClients, zone_id: str, domain: str) -> list[str]:
    name = domain.rstrip(".") + "."
    records = clients.route53.list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=name, StartRecordType="A", MaxItems="1"
    )["ResourceRecordSets"]
    return [
        r["Value"]
        for record in records
        if record["Name"] == name and record["Type"] == "A"
        for r in record.get("ResourceRecords", [])
    ]


def gather(
    clients: AwsClients, settings: DeploySettings, ask_host: bool = True, timeout: float = 5
) -> Status:
    status = Status(stack=settings.stack)
    instances = find_instances(clients, settings.stack, LIVE_STATES)
    if not instances:
        status.problems.append("no instance: run `ragstream deploy apply`")
        return status
    instance = instances[0]
    status.instance_id = instance["InstanceId"]
    status.state = instance["State"]["Name"]
    status.public_ip = instance.get("PublicIpAddress")
    if settings.domain and settings.hosted_zone_id:
        values = dns_record(clients, settings.hosted_zone_id, settings.domain)
        verdict = "matches" if status.public_ip in values else "DOES NOT MATCH the instance"
        status.dns = f"{settings.domain} -> {', '.join(values) or 'no A record'} ({verdict})"
        if status.public_ip not in values:
            status.problems.append(
                "DNS is not pointing at the instance: the host updates it at boot and when "
                "`ragstream deploy apply` delivers a new domain; run `apply`"
            )
    if status.state != "running":
        status.problems.append(
            f"instance is {status.state}: run `ragstream deploy apply` to start it"
        )
        return status
    host = settings.domain or status.public_ip
    if host:
        status.url = f"https://{host}" if settings.domain else f"http://{host}"
        status.health = check_health(status.url, timeout)
        if not status.health.startswith("ok"):
            status.problems.append(f"{status.url} is {status.health}")
    if ask_host:
        results = run_on_stack(clients, settings.stack, status_command(), timeout=120)
        status.host = "\n".join(r.stdout or r.stderr or r.status for r in results)
        status.problems += [
            f"the host agent on {r.instance_id}: {r.status}" for r in results if not r.ok
        ]
    return status
