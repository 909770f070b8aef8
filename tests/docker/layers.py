"""Look inside an image the way a registry sees it: `docker save` and each layer's tar."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# OpenAI-style keys: "sk-" (not inside a longer token such as a base64 hash in a wheel's
# RECORD) then a long run of key characters (real ones are 48+).
KEY_PATTERN = re.compile(rb"(?<![A-Za-z0-9_=+/-])sk-(?:proj-)?[A-Za-z0-9_-]{32,}")


@dataclass(frozen=True)
class Finding:
    layer: str
    path: str
    what: str


def layer_tars(saved: tarfile.TarFile) -> Iterator[tuple[str, tarfile.TarFile]]:
    """Each layer of a `docker save` archive, in manifest order."""
    manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
    for name in manifest[0]["Layers"]:
        data = saved.extractfile(name)  # seekable view into the archive: no copy in memory
        assert data is not None, name
        with tarfile.open(fileobj=data) as layer:
            yield name, layer


def scan_saved_image(archive: Path, secrets: tuple[bytes, ...] = ()) -> list[Finding]:
    """Files named .env, key-like strings and the given secrets, in any layer."""
    findings = []
    with tarfile.open(archive) as saved:
        for layer, tar in layer_tars(saved):
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if base == ".env" or base.startswith(".env."):
                    findings.append(Finding(layer, member.name, ".env file"))
                if not member.isfile():
                    continue
                content = tar.extractfile(member).read()  # type: ignore[union-attr]
                for secret in secrets:
                    if secret in content:
                        findings.append(Finding(layer, member.name, "given secret"))
                match = KEY_PATTERN.search(content)
                if match:
                    findings.append(Finding(layer, member.name, f"key-like {match[0][:7]!r}..."))
    return findings


def save_image(tag: str, archive: Path) -> Path:
    subprocess.run(["docker", "save", "-o", str(archive), tag], check=True, timeout=600)
    return archive
