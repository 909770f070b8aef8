"""Every deploy command answers --help (no AWS, no boto3 session needed)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.deploy.cli import deploy


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
    return paths


EXPECTED = {
    "init",
    "whoami",
    "plan",
    "apply",
    "up",
    "destroy",
    "secret",
    "build",
    "push",
    "release",
    "rollback",
    "status",
    "logs",
    "github-oidc",
    "backup",
}


def test_all_commands_of_the_issue_exist():
    assert set(deploy.commands) == EXPECTED
    assert set(deploy.commands["secret"].commands) == {"set", "check"}


@pytest.mark.parametrize(
    "path", [(), *command_paths(deploy)], ids=lambda p: " ".join(p) or "deploy"
)
def test_help(path):
    result = CliRunner().invoke(cli, ["deploy", *path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    command: click.Command = deploy
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    summary = command.help
    assert summary and summary.split(".")[0].split(":")[0][:20] in " ".join(result.output.split())


def test_secret_value_is_never_an_argument():
    params = {p.name for p in deploy.commands["secret"].commands["set"].params}
    assert params == {"name"}


def test_readme_documents_every_command():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("<!-- BEGIN deploy -->")[1].split("<!-- END deploy -->")[0]
    section += readme.split("<!-- BEGIN cicd -->")[1].split("<!-- END cicd -->")[0]
    missing = [n for n in EXPECTED if f"`{n}" not in section and f"deploy {n}" not in section]
    assert not missing, f"README's deploy sections do not mention: {missing}"
