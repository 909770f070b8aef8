"""The host agent's settings: written by cloud-init to /etc/ragstream/host.json.

This module is shared by both wings: `deploy/` builds a HostConfig from the deploy
settings and renders it into the user data; `host/` reads it on the instance. Like all
of `host/`, it uses only the standard library (the instance has Ubuntu's python3 and
python3-boto3, nothing else of ours).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

DEFAULT_PATH = Path("/etc/ragstream/host.json")
AGENT_PATH = "/usr/local/bin/ragstream-host"  # where the user data installs the agent
HEALTH_PATH = "/_stcore/health"  # Streamlit's health route: the app, deploy and agent poll it
# The settings `deploy apply` owns and may change on a running host (through the SSM
# parameter `config_parameter`); the rest are the host's own (paths, ports, timeouts).
DEPLOYED = ("image_repository", "ssm_parameter", "domain", "hosted_zone_id", "keep_releases")


@dataclass(frozen=True)
class HostConfig:
    region: str
    stack: str  # stack name; also tags the resources
    image_repository: (
        str  # "<registry>/<repository>", e.g. 123.dkr.ecr.eu-central-1.amazonaws.com/ragstream-web
    )
    ssm_parameter: str | None = "/ragstream/prod/OPENAI_API_KEY"  # None: run without a key
    domain: str | None = None  # e.g. "rag.example.com"; None: plain HTTP on port 80
    hosted_zone_id: str | None = None
    image_tag: str = "latest"  # what `start` runs when no release has been recorded
    app_port: int = 8501  # container port; published on loopback only
    data_dir: str = "/var/lib/ragstream/data"  # host dir mounted at /data in the container
    state_dir: str = "/var/lib/ragstream"  # release records (current/previous tag)
    secrets_dir: str = "/run/ragstream"  # tmpfs: the key file lives here, mode 0400
    container_uid: int = 10001  # the image's non-root user: owns the key file
    database_url_parameter: str | None = None  # optional SSM SecureString for the store
    # Defaults suit a real instance; tests override them.
    container_name: str = "ragstream"  # blue/green containers: <name>-blue, <name>-green
    blue_port: int = 8501  # loopback host ports of the two slots
    green_port: int = 8502
    health_path: str = HEALTH_PATH
    health_timeout: float = 180.0  # seconds a new container gets to answer health
    caddyfile: str = "/etc/caddy/Caddyfile"  # the agent rewrites it to switch upstreams
    proxy_admin: str = "localhost:2019"  # Caddy's admin API (what `caddy reload` talks to)
    http_port: int = 80  # plain-HTTP site port when there is no domain
    retry_attempts: int = 5  # IMDS / Route 53 calls, exponential backoff from 1 s
    # Added for issue 18: the deployed settings' SSM parameter (read at every start and
    # release), and how many good releases `rollback --to` can return to.
    config_parameter: str | None = None
    keep_releases: int = 20
    # Seconds a released-from container keeps serving the WebSockets (Streamlit sessions)
    # it had, while new ones go to the new container: Caddy's stream_close_delay and how
    # long the agent lets the old container run. 0: close them at the switch.
    drain_timeout: float = 600.0

    @property
    def registry(self) -> str:
        return self.image_repository.split("/", 1)[0]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def deployed_json(self) -> str:
        """What `deploy apply` stores in the config parameter (compared as text)."""
        return json.dumps({k: getattr(self, k) for k in DEPLOYED}, sort_keys=True)

    def with_deployed(self, text: str) -> HostConfig:
        """These settings with the deployed ones from `text` (a newer deploy's extra keys
        are ignored, so an older agent keeps working)."""
        data = json.loads(text)
        return replace(self, **{k: data[k] for k in DEPLOYED if k in data})

    @classmethod
    def from_json(cls, text: str) -> HostConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown host settings: {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> HostConfig:
        return cls.from_json(path.read_text(encoding="utf-8"))
