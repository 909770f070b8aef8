"""The EC2 user data (#cloud-config) that turns stock Ubuntu 24.04 into a RAGstream host.

docker.io and python3-boto3 come from Ubuntu's archive; caddy from Caddy's own apt
repository (a package rather than a container, so the proxy needs no image pull and gets
security updates), because Ubuntu's is 2.6, and only 2.8 and later switch upstreams
without a reload (a release keeps the sessions; proxy.py). Files are written *deferred*,
i.e. after the packages are installed, so the caddy package never sees (and never
prompts about) our Caddyfile. runcmd then mounts the data volume, and enables and starts
the units.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import fields
from importlib.resources import files
from string import Template
from typing import Any

from ragstream.host.config import AGENT_PATH, DEFAULT_PATH, HostConfig
from ragstream.host.errors import HostError
from ragstream.host.package import build_zipapp
from ragstream.host.proxy import UPSTREAM_FILE_SINCE, files_for

USER_DATA_LIMIT = 16384  # EC2 rejects larger user data (before its own base64)
UNIT_PATH = "/etc/systemd/system/ragstream.service"
PACKAGES = ["docker.io", "python3-boto3", "caddy"]
# Caddy's repository (https://caddyserver.com/docs/install), its signing key by fingerprint.
APT_SOURCES = {
    "caddy-stable.list": {
        "source": "deb [signed-by=$KEY_FILE] "
        "https://dl.cloudsmith.io/public/caddy/stable/deb/debian any-version main",
        "keyid": "65760C51EDEA2017CEA2CA15155B6D79CA56EA34",
        "keyserver": "keyserver.ubuntu.com",
    }
}
DATA_DIR: str = HostConfig.data_dir  # the default, where mount-data mounts the volume
RUNCMD = [
    [AGENT_PATH, "mount-data"],
    ["systemctl", "daemon-reload"],
    ["systemctl", "enable", "--now", "docker.service"],
    ["systemctl", "restart", "caddy.service"],
    ["systemctl", "enable", "--now", "--no-block", "ragstream.service"],
]


def render_unit(agent_path: str = AGENT_PATH, data_dir: str = DATA_DIR) -> str:
    template = Template((files("ragstream.host") / "templates" / "ragstream.service").read_text())
    return template.substitute(agent=agent_path, data=data_dir)


def bootstrap_fingerprint() -> str:
    """What only a new instance can change: the agent, the unit, packages and boot steps.

    The deployed settings are not in it: `deploy apply` delivers those to a running host.
    """
    digest = hashlib.sha256(build_zipapp())
    digest.update(render_unit().encode())
    digest.update(json.dumps([PACKAGES, APT_SOURCES, RUNCMD]).encode())
    return digest.hexdigest()[:16]


HOST_CADDY = UPSTREAM_FILE_SINCE  # at least: what Caddy's repository installs


def _file(path: str, content: str | bytes, permissions: str, gzipped: bool = False) -> dict:
    entry: dict[str, Any] = {"path": path, "permissions": permissions, "defer": True}
    if gzipped:
        raw = content if isinstance(content, bytes) else content.encode()
        entry["encoding"] = "gz+b64"
        entry["content"] = base64.b64encode(gzip.compress(raw, 9, mtime=0)).decode()
    else:
        entry["content"] = content
    return entry


def _settings(config: HostConfig) -> str:
    """host.json with the values that differ from the defaults (every byte counts here)."""
    changed = {
        f.name: getattr(config, f.name)
        for f in fields(config)
        if getattr(config, f.name) != f.default
    }
    return json.dumps(changed, sort_keys=True) + "\n"


def render_user_data(config: HostConfig) -> str:
    """The #cloud-config for one host; raises HostError if, gzipped as EC2 gets it
    (compress_user_data), it exceeds EC2's 16 KB."""
    document = {
        "package_update": True,
        "apt": {"sources": APT_SOURCES},
        "packages": PACKAGES,
        "write_files": [
            _file(str(DEFAULT_PATH), _settings(config), "0644"),
            _file(AGENT_PATH, build_zipapp(), "0755", gzipped=True),
            _file(UNIT_PATH, render_unit(data_dir=config.data_dir), "0644"),
            # Caddy's repository gives the newest 2.x: the Caddyfile and the port it reads.
            *(
                _file(str(path), data.decode(), "0644")
                for path, data in files_for(config, config.blue_port, HOST_CADDY).items()
            ),
        ],
        "runcmd": RUNCMD,
    }
    # JSON is valid YAML: no YAML library is needed, and quoting is never ambiguous.
    text = "#cloud-config\n" + json.dumps(document, separators=(",", ":")) + "\n"
    size = len(compress_user_data(text))
    if size > USER_DATA_LIMIT:
        raise HostError(f"user data is {size} bytes, over EC2's {USER_DATA_LIMIT}-byte limit")
    return text


def compress_user_data(text: str) -> bytes:
    """What EC2 gets: the text gzipped. cloud-init gunzips user data that starts with
    gzip's magic bytes, and EC2's limit counts these bytes (a quarter fewer than the text,
    whose agent is base64)."""
    return gzip.compress(text.encode(), 9, mtime=0)
