"""Deploy settings: defaults, precedence (flag > env > file > default), clear errors."""

from __future__ import annotations

import pytest

from ragstream.deploy.settings import (
    DeploySettings,
    load_deploy_settings,
    to_toml,
    write_settings,
)
from ragstream.errors import ConfigError


def test_defaults_match_the_runbook():
    s = DeploySettings()
    assert (s.region, s.stack, s.repository) == ("eu-central-1", "ragstream", "ragstream-web")
    assert s.ssm_parameter == "/ragstream/prod/OPENAI_API_KEY"
    assert s.instance_type == "t3.small" and not s.ssh and not s.elastic_ip
    assert s.ami_parameter_name == (
        "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
    )


@pytest.mark.parametrize(
    ("instance_type", "arch"),
    [
        ("t3.small", "amd64"),
        ("t4g.small", "arm64"),
        ("m7gd.large", "arm64"),
        ("c6i.large", "amd64"),
    ],
)
def test_ami_follows_the_instance_architecture(instance_type, arch):
    assert f"/current/{arch}/" in DeploySettings(instance_type=instance_type).ami_parameter_name


def test_flag_beats_env_beats_file_beats_default(tmp_path):
    file = tmp_path / "ragstream.deploy.toml"
    write_settings(
        DeploySettings(region="us-east-2", stack="fromfile", instance_type="t3.large"), file
    )
    env = {"RAGSTREAM_DEPLOY_STACK": "fromenv", "RAGSTREAM_DEPLOY_ELASTIC_IP": "true"}
    s = load_deploy_settings({"stack": "fromflag", "region": None}, env=env, path=file)
    assert s.stack == "fromflag"  # flag
    assert s.elastic_ip is True  # env
    assert (s.region, s.instance_type) == ("us-east-2", "t3.large")  # file
    assert s.repository == "ragstream-web"  # default
    assert load_deploy_settings(env=env, path=file).stack == "fromenv"


def test_file_round_trips_every_value(tmp_path):
    wanted = DeploySettings(
        domain="rag.example.org",
        hosted_zone_id="Z0123",
        allowed_cidrs=("203.0.113.0/24", "198.51.100.7/32"),
        ssh=True,
        data_volume_gb=50,
    )
    file = tmp_path / "d.toml"
    write_settings(wanted, file)
    assert load_deploy_settings(env={}, path=file) == wanted
    assert "# profile = " in to_toml(wanted)  # unset optionals stay visible as comments


def test_env_lists_and_numbers_are_parsed():
    env = {
        "RAGSTREAM_DEPLOY_ALLOWED_CIDRS": "10.0.0.0/8, 192.0.2.0/24",
        "RAGSTREAM_DEPLOY_DATA_VOLUME_GB": "30",
    }
    s = load_deploy_settings(env=env, path=None)
    assert s.allowed_cidrs == ("10.0.0.0/8", "192.0.2.0/24") and s.data_volume_gb == 30


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"allowed_cidrs": ("everyone",)}, "allowed_cidrs: 'everyone' is not a CIDR"),
        ({"domain": "rag.example.org"}, "domain and hosted_zone_id go together"),
        ({"stack": "My Stack"}, "stack='My Stack'"),
        ({"allowed_cidrs": ()}, "allowed_cidrs is empty"),
    ],
)
def test_bad_values_name_the_setting(changes, message):
    with pytest.raises(ConfigError, match=message):
        DeploySettings(**changes)


def test_unknown_keys_and_bad_types_are_named(tmp_path):
    file = tmp_path / "d.toml"
    file.write_text('[deploy]\nregoin = "eu-west-1"\n')
    with pytest.raises(ConfigError, match=r"unknown setting.*regoin"):
        load_deploy_settings(env={}, path=file)
    with pytest.raises(ConfigError, match="data_volume_gb='big' is not a whole number"):
        load_deploy_settings(env={"RAGSTREAM_DEPLOY_DATA_VOLUME_GB": "big"}, path=None)
    with pytest.raises(ConfigError, match="does not exist: run `ragstream deploy init`"):
        load_deploy_settings(env={}, path=tmp_path / "missing.toml")
    file.write_text("[deploy\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_deploy_settings(env={}, path=file)
