"""Tokens: stored hashed, shown once, revocable; the CLI; the bind and rate-limit rules."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from ragstream.api.auth import FailureLimiter, check_bind, host_name, is_loopback
from ragstream.api.tokens import TokenStore, tokens_file
from ragstream.cli import main
from ragstream.errors import ConfigError


def test_token_is_shown_once_and_stored_only_as_a_hash(tmp_path: Path) -> None:
    store = TokenStore(tokens_file(tmp_path))
    secret, record = store.create("ci-bot")
    assert secret.startswith(f"rst_{record.id}_") and len(secret) > 40
    raw = sqlite3.connect(tokens_file(tmp_path)).execute("SELECT * FROM api_tokens").fetchall()
    assert secret not in repr(raw)
    assert hashlib.sha256(secret.encode()).hexdigest() in repr(raw)
    found = store.verify(secret)
    assert found is not None and found.id == record.id and found.name == "ci-bot"


def test_verify_rejects_wrong_malformed_and_revoked(tmp_path: Path) -> None:
    store = TokenStore(tokens_file(tmp_path))
    secret, record = store.create("a")
    other, _ = store.create("b", "read")
    assert store.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert store.verify("not-a-token") is None
    assert store.verify(f"rst_{record.id}_") is None
    read = store.verify(other)
    assert read is not None and read.scope == "read"
    assert [r.id for r in store.revoke(record.id)] == [record.id]
    assert store.verify(secret) is None
    assert store.revoke(record.id) == []
    assert store.has_active()
    store.revoke("b")
    assert not store.has_active()


def test_has_active_does_not_create_the_file(tmp_path: Path) -> None:
    store = TokenStore(tokens_file(tmp_path / "ws"))
    assert not store.has_active() and store.verify("rst_00000000_" + "x" * 43) is None
    assert not tokens_file(tmp_path / "ws").exists()


@pytest.mark.parametrize(("name", "scope"), [("", "write"), ("a b", "write"), ("ok", "admin")])
def test_bad_names_and_scopes_are_one_line_errors(tmp_path: Path, name: str, scope: str) -> None:
    with pytest.raises(ConfigError, match="token"):
        TokenStore(tokens_file(tmp_path)).create(name, scope)


def test_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(tmp_path / ".ragstream")]
    main(["token", "create", "ci-bot", *ws])
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("rst_") and "copy it now" in err and secret not in err
    main(["token", "create", "reader", "--read-only", *ws])
    capsys.readouterr()
    main(["token", "list", *ws])
    listing = capsys.readouterr().out
    assert "ci-bot" in listing and "reader" in listing and "read " in listing
    assert secret not in listing and secret.split("_")[2] not in listing
    main(["token", "revoke", secret.split("_")[1], *ws])
    assert "revoked" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["token", "revoke", "nobody", *ws])
    assert "no active token" in capsys.readouterr().err


def test_bind_rule(tmp_path: Path) -> None:
    store = TokenStore(tokens_file(tmp_path))
    check_bind("127.0.0.1", store)
    check_bind("::1", store)
    with pytest.raises(ConfigError, match="without tokens"):
        check_bind("0.0.0.0", store)
    store.create("x")
    check_bind("0.0.0.0", store)


def test_host_names() -> None:
    assert host_name("127.0.0.1:8501") == "127.0.0.1"
    assert host_name("[::1]:80") == "[::1]"
    assert host_name("localhost") == "localhost"
    assert is_loopback("[::1]") and is_loopback("127.0.0.2") and not is_loopback("example.com")


def test_limiter_blocks_after_max_failures_then_forgets(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("ragstream.api.auth.time.monotonic", lambda: now[0])
    limiter = FailureLimiter(max_failures=3, window=60)
    for _ in range(3):
        assert limiter.retry_after("1.2.3.4") is None
        limiter.fail("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") == 61
    assert limiter.retry_after("5.6.7.8") is None
    now[0] += 61
    assert limiter.retry_after("1.2.3.4") is None


@pytest.mark.postgres
def test_tokens_in_postgresql_follow_the_index(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragstream.api.tokens import PostgresTokenStore, open_tokens
    from ragstream.config import load_settings

    settings = load_settings({"workspace": tmp_path / "ws", "database_url": postgres_url}, env={})
    store = open_tokens(settings)
    assert isinstance(store, PostgresTokenStore) and not store.has_active()
    secret, record = store.create("scale-out")
    other = PostgresTokenStore(postgres_url)  # a second app server sees the same tokens
    found = other.verify(secret)
    assert found is not None and found.id == record.id
    assert other.verify(secret[:-2] + "zz") is None
    main(["token", "revoke", record.id, "--database-url", postgres_url, "-w", str(tmp_path)])
    assert "revoked" in capsys.readouterr().out
    assert other.verify(secret) is None and not other.has_active()
    assert not tokens_file(tmp_path / "ws").exists()  # nothing written beside a workspace
    store.close()
    other.close()
