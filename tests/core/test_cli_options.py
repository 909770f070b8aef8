"""Shared CLI options: a password given on the command line is warned about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ragstream.commands.options import warn_password_in_argv


@click.command()
@click.option("--database-url", callback=warn_password_in_argv)
@click.option("--to", callback=warn_password_in_argv)
def command(database_url: str | None, to: str | None) -> None:
    click.echo(f"ran with {database_url} {to}")


@pytest.mark.parametrize(
    ("args", "advice"),
    [
        (["--database-url", "postgresql://app:S3cret@db:5432/rag"], "RAGSTREAM_DATABASE_URL_FILE"),
        (["--to", "postgresql://app:S3cret@db/rag"], "--to-file FILE"),
    ],
)
def test_a_password_in_argv_is_warned_about_and_the_command_runs(
    args: list[str], advice: str
) -> None:
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0 and result.stdout.startswith("ran with")
    assert "holds a password" in result.stderr and advice in result.stderr
    assert "S3cret" not in result.stderr


@pytest.mark.parametrize(
    "url", ["postgresql://app@db/rag", "postgresql:///rag?host=/run/pg", "/data/workspace", "x://["]
)
def test_no_warning_without_a_password(url: str) -> None:
    result = CliRunner().invoke(command, ["--database-url", url, "--to", url])
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.parametrize("args", [["ask", ""], ["search", "   "], ["ask", "\t"]])
def test_an_empty_question_is_a_usage_error(args: list[str], tmp_path: Path) -> None:
    """Not "No passage matches" with exit 0: the user typed nothing to look for."""
    result = subprocess.run(
        [sys.executable, "-m", "ragstream.cli", *args, "--workspace", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "is empty: say what to look for" in result.stderr
    assert not (tmp_path / "ws").exists()  # refused before opening anything
