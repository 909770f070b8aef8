"""The AWS calls the host makes (SSM, ECR, Route 53), errors translated to one line.

Credentials come from the instance profile; boto3 honours AWS_ENDPOINT_URL, which is
how the tests point it at moto's server.
"""

from __future__ import annotations

import base64
from functools import cached_property
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ragstream.host.errors import HostError, NotYetError


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc).splitlines()[0]


class Aws:
    def __init__(self, region: str) -> None:
        self.session = boto3.session.Session(region_name=region)

    # One client per service, made on first use (making a client costs ~0.1-1 s).
    @cached_property
    def ssm(self) -> Any:
        return self.session.client("ssm")

    @cached_property
    def ecr(self) -> Any:
        return self.session.client("ecr")

    @cached_property
    def route53(self) -> Any:
        return self.session.client("route53")

    def secret(self, name: str) -> str:
        """The decrypted value of the SSM parameter `name` (never logged)."""
        try:
            response = self.ssm.get_parameter(Name=name, WithDecryption=True)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ParameterNotFound":
                raise NotYetError(
                    f"SSM parameter {name} not found: create it (SecureString) "
                    "or fix ssm_parameter in host.json"
                ) from None
            raise HostError(f"cannot read SSM parameter {name} ({_reason(exc)})") from None
        except BotoCoreError as exc:
            raise HostError(f"cannot reach SSM for {name} ({_reason(exc)})") from None
        value: str = response["Parameter"]["Value"]
        return value

    def parameter(self, name: str) -> str | None:
        """A plain (String) SSM parameter's value, or None if it does not exist."""
        try:
            return str(self.ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise HostError(f"cannot read SSM parameter {name} ({_reason(exc)})") from None
        except BotoCoreError as exc:
            raise HostError(f"cannot reach SSM for {name} ({_reason(exc)})") from None

    def registry_password(self) -> str:
        """A fresh ECR login password for user AWS (valid 12 hours)."""
        try:
            data = self.ecr.get_authorization_token()["authorizationData"][0]
        except (ClientError, BotoCoreError) as exc:
            raise HostError(f"cannot get an ECR login token ({_reason(exc)})") from None
        _user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        return password

    def a_record(self, zone_id: str, name: str) -> str | None:
        """The current value of the A record `name`, or None if there is none."""
        fqdn = name.rstrip(".") + "."
        try:
            response = self.route53.list_resource_record_sets(
                HostedZoneId=zone_id, StartRecordName=fqdn, StartRecordType="A", MaxItems="1"
            )
        except (ClientError, BotoCoreError) as exc:
            raise HostError(f"cannot read Route 53 zone {zone_id} ({_reason(exc)})") from None
        for record in response["ResourceRecordSets"]:
            if record["Name"] == fqdn and record["Type"] == "A":
                values = [r["Value"] for r in record.get("ResourceRecords", [])]
                return values[0] if len(values) == 1 else ",".join(values)
        return None

    def upsert_a_record(self, zone_id: str, name: str, address: str, ttl: int = 60) -> None:
        try:
            self.route53.change_resource_record_sets(
                HostedZoneId=zone_id,
                ChangeBatch={
                    "Comment": "ragstream-host dns",
                    "Changes": [
                        {
                            "Action": "UPSERT",
                            "ResourceRecordSet": {
                                "Name": name.rstrip(".") + ".",
                                "Type": "A",
                                "TTL": ttl,
                                "ResourceRecords": [{"Value": address}],
                            },
                        }
                    ],
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise HostError(f"cannot update {name} in zone {zone_id} ({_reason(exc)})") from None
