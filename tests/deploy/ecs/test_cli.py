"""`ragstream deploy init --target ecs` and the shared commands running for this target."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.deploy.ecs.settings import load_ecs_settings
from ragstream.deploy.settings import load_deploy_settings
from ragstream.errors import ConfigError
from tests.deploy.ecs.account import EcsAccount


def test_init_writes_the_target_and_an_ecs_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["deploy", "init", "--target", "ecs", "--stack", "team"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "ragstream.deploy.toml"
    assert load_deploy_settings(path=path, env={}).target == "ecs"
    assert load_ecs_settings(path).web_min == 2
    path.write_text(path.read_text().replace("web_min = 2", "web_min = 0"))
    with pytest.raises(ConfigError, match=r"\[ecs\] needs 1 <= web_min"):
        load_ecs_settings(path)


@pytest.mark.aws
def test_plan_and_status_through_the_cli(ecs_account: EcsAccount, tmp_path: Path) -> None:
    s, e = ecs_account.settings, ecs_account.ecs
    (tmp_path / "ragstream.deploy.toml").write_text(
        f'[deploy]\nregion = "{s.region}"\nstack = "{s.stack}"\ntarget = "ecs"\n'
        f'registry = "{s.registry}"\n\n[ecs]\nvpc_id = "{e.vpc_id}"\n'
    )
    plan = CliRunner().invoke(cli, ["deploy", "plan"])
    assert plan.exit_code == 0, plan.output
    assert (
        "create ECS cluster rs-ecs" in plan.output
        and "listener :80: HTTP (no domain set)" in plan.output
    )
    status = CliRunner().invoke(cli, ["deploy", "status"])
    assert '"rs-ecs-web": "missing"' in status.output
    release = CliRunner().invoke(cli, ["deploy", "release", "--tag", "v1"])
    assert "ECS service rs-ecs-web does not exist: run `ragstream deploy apply` first" in str(
        release.exception
    )
