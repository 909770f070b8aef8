"""Deploy settings: CLI flag > environment (RAGSTREAM_DEPLOY_*) > ragstream.deploy.toml > default.

The file is written by `ragstream deploy init`. Nothing account-specific lives here: the
account id always comes from STS, the registry from ECR, the AMI from Canonical's public
SSM parameter (unless pinned).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ragstream.errors import ConfigError
from ragstream.layered import build, read_table

DEFAULT_FILE = Path("ragstream.deploy.toml")
ENV_PREFIX = "RAGSTREAM_DEPLOY_"
# Canonical publishes the current Ubuntu 24.04 image id per region under this public name.
UBUNTU_AMI_PARAMETER = (
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/{arch}/hvm/ebs-gp3/ami-id"
)


@dataclass(frozen=True)
class DeploySettings:
    region: str = "eu-central-1"
    profile: str | None = None
    stack: str = "ragstream"
    repository: str = "ragstream-web"
    ssm_parameter: str = "/ragstream/prod/OPENAI_API_KEY"
    instance_type: str = "t3.small"
    ami: str | None = None  # None: read the image id from ami_parameter
    ami_parameter: str | None = None  # None: Canonical's public Ubuntu 24.04 parameter
    root_volume_gb: int = 16
    data_volume_gb: int = 20
    domain: str | None = None
    hosted_zone_id: str | None = None
    allowed_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    elastic_ip: bool = False
    ssh: bool = False
    keep_images: int = 20  # ECR lifecycle: tagged images kept
    # S3 sources (`ragstream source add s3://...`) the host may read: s3://bucket[/prefix]
    source_buckets: tuple[str, ...] = ()
    registry: str | None = None  # None: the ECR registry of the account (override for tests)
    target: str = "host"  # "host": one EC2 instance; "ecs": ragstream.deploy.ecs

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9-]{1,40}", self.stack):
            raise ConfigError(f"stack={self.stack!r}: use 1-40 lowercase letters, digits or -")
        if bool(self.domain) != bool(self.hosted_zone_id):
            raise ConfigError(
                "domain and hosted_zone_id go together: set both (or neither) in "
                f"{DEFAULT_FILE} or with --domain/--hosted-zone-id"
            )
        for cidr in self.allowed_cidrs:
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise ConfigError(
                    f"allowed_cidrs: {cidr!r} is not a CIDR like 203.0.113.0/24"
                ) from None
        if self.target not in ("host", "ecs"):
            raise ConfigError(f"target={self.target!r}: use host or ecs")
        for location in self.source_buckets:
            bucket_and_prefix(location)  # one line naming a malformed entry
        if not self.allowed_cidrs:
            raise ConfigError("allowed_cidrs is empty: nobody could reach the app")
        if self.data_volume_gb < 1 or self.root_volume_gb < 8 or self.keep_images < 1:
            raise ConfigError("data_volume_gb >= 1, root_volume_gb >= 8 and keep_images >= 1")

    @property
    def source_locations(self) -> list[tuple[str, str]]:
        return [bucket_and_prefix(location) for location in self.source_buckets]

    @property
    def arch(self) -> str:
        # Graviton families carry a "g" right after the generation digit: t4g, m7g, c7gn.
        return "arm64" if re.match(r"^[a-z]+\d+g", self.instance_type) else "amd64"

    @property
    def ami_parameter_name(self) -> str:
        return self.ami_parameter or UBUNTU_AMI_PARAMETER.format(arch=self.arch)

    @property
    def stack_tag(self) -> dict[str, str]:
        return {"Key": "ragstream:stack", "Value": self.stack}

    def replace(self, **changes: Any) -> DeploySettings:
        return dataclasses.replace(self, **changes)


def bucket_and_prefix(location: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix"); a bad entry is one line."""
    rest = location.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not location.startswith("s3://") or not re.fullmatch(
        r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket
    ):
        raise ConfigError(
            f"source_buckets: {location!r} is not s3://bucket[/prefix] (a bucket the host may read)"
        )
    return bucket, prefix


def load_deploy_settings(
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> DeploySettings:
    """Defaults, then the file (if present), then RAGSTREAM_DEPLOY_*, then flags (non-None)."""
    env = os.environ if env is None else env
    file = path or Path(env.get(ENV_PREFIX + "CONFIG", DEFAULT_FILE))
    if path is not None and not file.is_file():
        raise ConfigError(f"{file} does not exist: run `ragstream deploy init` first")
    from_file = read_table(file, "deploy") if file.is_file() else {}
    from_env = {
        f.name: env[ENV_PREFIX + f.name.upper()]
        for f in fields(DeploySettings)
        if env.get(ENV_PREFIX + f.name.upper())
    }
    return build(DeploySettings, from_file, from_env, overrides or {}, where=str(file))


def to_toml(settings: DeploySettings) -> str:
    """The settings as a commented TOML file; unset optional values are left as comments."""
    lines = ["# ragstream deploy settings (see README, 'Deploy to AWS')", "[deploy]"]
    for f in fields(settings):
        value = getattr(settings, f.name)
        if value is None:
            lines.append(f"# {f.name} = ")
        elif isinstance(value, bool):
            lines.append(f"{f.name} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{f.name} = {value}")
        elif isinstance(value, tuple):
            lines.append(f"{f.name} = [{', '.join(_quote(v) for v in value)}]")
        else:
            lines.append(f"{f.name} = {_quote(str(value))}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_settings(settings: DeploySettings, path: Path = DEFAULT_FILE) -> None:
    """Write atomically (temp file + rename), so a crash never leaves half a file."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(to_toml(settings), encoding="utf-8")
    os.replace(temp, path)
