"""The agent runs on stock Ubuntu: it may import only the standard library, boto3/botocore
and its own modules (never click, rich or the rest of ragstream)."""

from __future__ import annotations

import sys
from pathlib import Path

import ragstream.host
from tests.support.imports import imported_modules

HOST_DIR = Path(ragstream.host.__file__).parent
ALLOWED_THIRD_PARTY = {"boto3", "botocore"}


def test_host_imports_only_stdlib_boto3_and_itself() -> None:
    offenders = []
    for path in sorted(HOST_DIR.glob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name == "ragstream.host" or name.startswith("ragstream.host."):
                continue
            if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
                continue
            offenders.append(f"{path.name}: {name}")
    assert offenders == []
    assert imported_modules(HOST_DIR / "aws.py") >= {"boto3"}  # the check sees real imports
