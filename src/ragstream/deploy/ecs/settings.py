"""The `[ecs]` table of ragstream.deploy.toml (written by `deploy init --target ecs`).

Shared settings (region, stack, repository, domain, hosted zone, the OpenAI key's SSM
parameter, allowed CIDRs) stay in `[deploy]`; only what the ECS target adds lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from ragstream.errors import ConfigError
from ragstream.layered import build, read_table


@dataclass(frozen=True)
class EcsSettings:
    vpc_id: str | None = None  # None: the region's default VPC
    public_subnets: tuple[str, ...] = ()  # () : the VPC's subnets that map public IPs
    private_subnets: tuple[str, ...] = ()  # () : the VPC's other subnets
    certificate_arn: str | None = None  # None: the ISSUED ACM certificate for the domain
    web_cpu: int = 1024
    web_memory: int = 2048
    web_min: int = 2
    web_max: int = 6
    web_cpu_target: float = 60.0
    worker_cpu: int = 2048
    worker_memory: int = 4096
    worker_min: int = 1
    worker_max: int = 4
    jobs_per_worker: float = 20.0  # queue depth per worker the autoscaler aims for
    db_instance_class: str = "db.t4g.medium"
    db_storage_gb: int = 20
    db_backup_days: int = 7
    db_engine_version: str = "17"
    bucket: str | None = None  # None: <stack>-<account>-<region>-docs
    log_retention_days: int = 30
    release_wait_seconds: int = 900  # release waits this long for stable services; 0: no wait

    def __post_init__(self) -> None:
        if not 1 <= self.web_min <= self.web_max or not 0 <= self.worker_min <= self.worker_max:
            raise ConfigError(
                "[ecs] needs 1 <= web_min <= web_max and 0 <= worker_min <= worker_max"
            )
        if self.release_wait_seconds < 0:
            raise ConfigError("[ecs] release_wait_seconds must be 0 (do not wait) or more")
        if self.db_backup_days < 1:
            raise ConfigError("[ecs] db_backup_days must be at least 1: backups stay on")
        for name in ("public_subnets", "private_subnets"):
            if 0 < len(getattr(self, name)) < 2:
                raise ConfigError(f"[ecs] {name}: give at least two subnets (two AZs), or none")


def load_ecs_settings(path: Path | None) -> EcsSettings:
    if path is None or not path.is_file():
        return EcsSettings()
    return build(EcsSettings, read_table_strict(path), where=f"{path} [ecs]")


def read_table_strict(path: Path) -> dict[str, object]:
    """The [ecs] table only (read_table falls back to the whole file when it is missing)."""
    table = read_table(path, "ecs")
    return table if "deploy" not in table else {}


def ecs_toml(settings: EcsSettings) -> str:
    lines = ["", "[ecs]"]
    for f in fields(settings):
        value = getattr(settings, f.name)
        if value is None:
            lines.append(f"# {f.name} = ")
        elif isinstance(value, tuple):
            lines.append(
                f"{f.name} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]"
            )
        elif isinstance(value, str):
            lines.append(f'{f.name} = "{value}"')
        else:
            lines.append(f"{f.name} = {value}")
    return "\n".join(lines) + "\n"
