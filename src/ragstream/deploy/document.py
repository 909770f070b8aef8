"""The stack's own SSM Command document: run the host agent, and nothing else.

`AWS-RunShellScript` is a root shell on the host; whoever may send it owns the machine.
The CI role and `deploy release` use this document instead: one fixed command line,
whose two parameters SSM itself checks before anything reaches the host (`action` from a
list, `ref` against the tag/digest pattern, so no shell syntax can get through).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ragstream.deploy.aws import AwsClients
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import get_or_none
from ragstream.host.config import AGENT_PATH

ACTIONS = ("release", "rollback", "status", "reconfigure")
# A Docker tag, a digest, or nothing (rollback/status/reconfigure need no ref).
REF_PATTERN = r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[0-9a-f]{64})?$"


def document_name(stack: str) -> str:
    return f"{stack}-host-agent"


def document(timeout: int = 900) -> dict[str, Any]:
    return {
        "schemaVersion": "2.2",
        "description": "ragstream: run the host agent (release, rollback, status, reconfigure)",
        "parameters": {
            "action": {"type": "String", "allowedValues": list(ACTIONS)},
            "ref": {"type": "String", "default": "", "allowedPattern": REF_PATTERN},
        },
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "agent",
                "inputs": {
                    "timeoutSeconds": str(timeout),
                    "runCommand": [AGENT_PATH + ' --ref "{{ ref }}" {{ action }}'],
                },
            }
        ],
    }


def plan_document(clients: AwsClients, stack: str, tags: list[Any]) -> Iterator[Step]:
    name, wanted = document_name(stack), document()
    found = get_or_none(lambda: clients.ssm.get_document(Name=name), "InvalidDocument")
    content = json.dumps(wanted, indent=1)
    if found is None:
        yield Step(
            "create",
            f"SSM document {name}",
            "runs only `ragstream-host release|rollback|status|reconfigure`",
            lambda ctx: ctx.clients.ssm.create_document(
                Name=name,
                Content=content,
                DocumentType="Command",
                DocumentFormat="JSON",
                Tags=tags,
            ),
        )
    elif json.loads(found["Content"]) != wanted:

        def update(ctx: Context) -> None:
            updated = ctx.clients.ssm.update_document(
                Name=name, Content=content, DocumentVersion="$LATEST", DocumentFormat="JSON"
            )
            ctx.clients.ssm.update_document_default_version(
                Name=name, DocumentVersion=updated["DocumentDescription"]["DocumentVersion"]
            )

        yield Step("update", f"SSM document {name}", "its content differs", update)
