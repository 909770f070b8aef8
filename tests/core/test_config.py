"""Settings precedence: flag > env > file > default, case by case; secrets from files."""

from pathlib import Path

import pytest

from ragstream.config import Settings, load_settings
from ragstream.errors import ConfigError


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ragstream.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.workspace == Path(".ragstream")
    assert settings.openai_api_key is None


def test_file_beats_default(tmp_path: Path) -> None:
    cfg = write_toml(tmp_path, "top_k = 9\nworkspace = 'from-file'\n")
    settings = load_settings(env={}, config_file=cfg)
    assert settings.top_k == 9
    assert settings.workspace == Path("from-file")


def test_env_beats_file(tmp_path: Path) -> None:
    cfg = write_toml(tmp_path, "top_k = 9\n")
    settings = load_settings(env={"RAGSTREAM_TOP_K": "3"}, config_file=cfg)
    assert settings.top_k == 3


def test_flag_beats_env_and_none_flags_are_ignored(tmp_path: Path) -> None:
    cfg = write_toml(tmp_path, "top_k = 9\n")
    env = {"RAGSTREAM_TOP_K": "3", "RAGSTREAM_WORKSPACE": "env-ws"}
    settings = load_settings({"top_k": 7, "workspace": None}, env=env, config_file=cfg)
    assert settings.top_k == 7
    assert settings.workspace == Path("env-ws")


def test_config_file_named_by_env(tmp_path: Path) -> None:
    cfg = write_toml(tmp_path, "[ragstream]\nretrieval_mode = 'bm25'\n")
    assert load_settings(env={"RAGSTREAM_CONFIG": str(cfg)}).retrieval_mode == "bm25"


def test_key_from_env_and_from_file(tmp_path: Path) -> None:
    assert load_settings(env={"OPENAI_API_KEY": "sk-env"}).openai_api_key == "sk-env"
    key_file = tmp_path / "key"
    key_file.write_text("sk-file\n", encoding="utf-8")
    settings = load_settings(env={"OPENAI_API_KEY_FILE": str(key_file)})
    assert settings.openai_api_key == "sk-file"
    # the plain variable wins over the file, as with other tools
    both = {"OPENAI_API_KEY": "sk-env", "OPENAI_API_KEY_FILE": str(key_file)}
    assert load_settings(env=both).openai_api_key == "sk-env"


def test_secrets_never_show_in_repr(tmp_path: Path) -> None:
    settings = load_settings(
        env={"OPENAI_API_KEY": "sk-secret-123", "RAGSTREAM_DATABASE_URL": "postgresql://u:pw@h/db"}
    )
    assert "sk-secret-123" not in repr(settings)
    assert "pw@" not in repr(settings)


def test_missing_secret_file_names_variable_not_content(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY_FILE=.*cannot read"):
        load_settings(env={"OPENAI_API_KEY_FILE": str(tmp_path / "nope")})
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        load_settings(env={"RAGSTREAM_PASSWORD_FILE": str(empty)})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAGSTREAM_TOP_K": "many"}, "top_k='many' is not a whole number"),
        ({"RAGSTREAM_RETRIEVAL_MODE": "fuzzy"}, "retrieval_mode='fuzzy' is not one of"),
        ({"RAGSTREAM_CHUNK_OVERLAP": "999"}, "chunk_overlap between"),
        ({"RAGSTREAM_MAX_FILE_MB": "big"}, "max_file_mb='big' is not a valid float"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(env=env)


def test_bad_file_is_named(tmp_path: Path) -> None:
    cfg = write_toml(tmp_path, "top_k = [\n")
    with pytest.raises(ConfigError, match=r"ragstream\.toml is not valid TOML"):
        load_settings(env={}, config_file=cfg)
    cfg = write_toml(tmp_path, "colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings(env={}, config_file=cfg)


def test_replace_converts_and_validates() -> None:
    changed = Settings().replace(workspace="elsewhere", top_k="4")
    assert changed.workspace == Path("elsewhere") and changed.top_k == 4
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings().replace(colour="blue")
    with pytest.raises(ConfigError, match="retrieval_mode"):
        Settings().replace(retrieval_mode="fuzzy")
