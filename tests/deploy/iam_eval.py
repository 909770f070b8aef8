"""A small IAM evaluator over policy documents: is `action` on `resource` allowed?

moto's server does not implement SimulatePrincipalPolicy, so the tests evaluate the
role's real documents (read back from moto) with the rules that matter here: an explicit
Deny wins, otherwise any matching Allow allows, otherwise the request is denied.
Action/NotAction and Resource/NotResource match with IAM's `*`/`?` wildcards (actions
case-insensitively). Conditions are taken as met: that can only over-state what is
allowed, so a "denied" verdict is never a false comfort.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from typing import Any


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(patterns: list[str], value: str, case_sensitive: bool) -> bool:
    if not case_sensitive:
        value, patterns = value.lower(), [p.lower() for p in patterns]
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        hit = _matches(_as_list(statement["Action"]), action, case_sensitive=False)
    else:
        hit = not _matches(_as_list(statement["NotAction"]), action, case_sensitive=False)
    if not hit:
        return False
    if "Resource" in statement:
        return _matches(_as_list(statement["Resource"]), resource, case_sensitive=True)
    return not _matches(_as_list(statement["NotResource"]), resource, case_sensitive=True)


def allowed(policies: Iterable[dict[str, Any]], action: str, resource: str) -> bool:
    verdict = False
    for policy in policies:
        for statement in _as_list_of_dicts(policy["Statement"]):
            if _applies(statement, action, resource):
                if statement["Effect"] == "Deny":
                    return False
                verdict = True
    return verdict


def _as_list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return [value] if isinstance(value, dict) else list(value)


def role_policies(iam: Any, role: str) -> list[dict[str, Any]]:
    """Every identity policy of `role` as AWS holds it: inline ones and attached managed ones."""
    found = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        found.append(_doc(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]))
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        found.append(_doc(version["PolicyVersion"]["Document"]))
    return found


def _doc(document: Any) -> dict[str, Any]:
    return json.loads(document) if isinstance(document, str) else dict(document)
