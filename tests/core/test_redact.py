"""No secret in any message: redaction by value and by shape, at every exit (issue 14.4)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ragstream.cli import main
from ragstream.config import Settings, load_settings
from ragstream.errors import StoreError
from ragstream.redact import install_log_redaction, mask_url, redact, url_password

# Each case: a database URL that urllib.parse gets wrong, and the password inside it.
HOSTILE_URLS = [
    ("postgresql://app:Port-Pa55@127.0.0.1:notaport/rag", "Port-Pa55"),  # .port raises
    ("postgresql://app:ha#sh-Pa55@127.0.0.1:5432/rag", "ha#sh-Pa55"),  # '#' starts a fragment
    ("postgresql://app:sla/sh-Pa55@127.0.0.1:5432/rag", "sla/sh-Pa55"),  # '/' ends netloc
    ("postgresql://app:co:lon@at-Pa55@127.0.0.1/rag", "co:lon@at-Pa55"),  # ':' and '@'
]


@pytest.mark.parametrize(("url", "password"), HOSTILE_URLS)
def test_url_password_and_mask_url_survive_what_urlsplit_gets_wrong(
    url: str, password: str
) -> None:
    assert url_password(url) == password
    masked = mask_url(url)
    assert password not in masked and "Pa55" not in masked
    assert masked.startswith("postgresql://app:***@")


def test_settings_register_every_secret_so_it_is_scrubbed_anywhere(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-a-FILE-777\n")
    env = {
        "OPENAI_API_KEY_FILE": str(key_file),
        "RAGSTREAM_PASSWORD": "page-Pa55word",
        "RAGSTREAM_DATABASE_URL": "postgresql://app:db#Pa55@127.0.0.1:x/rag",
        "OPENAI_BASE_URL": "http://proxy-user:proxy-Pa55@127.0.0.1:9/v1",
    }
    load_settings(env=env)
    # by value: not a URL, not quoted, just the secret in free text (an echoed body)
    text = redact("echo: sk-from-a-FILE-777 page-Pa55word db#Pa55 db%23Pa55 proxy-Pa55")
    for secret in ("sk-from-a-FILE-777", "page-Pa55word", "db#Pa55", "db%23Pa55", "proxy-Pa55"):
        assert secret not in text
    assert text == "echo: *** *** *** *** ***"


def test_shapes_are_masked_without_being_registered() -> None:
    assert redact("Authorization: Bearer sk-unknown-abc") == "Authorization: Bearer ***"
    assert redact("host=db password='a b' user=x") == "host=db password=*** user=x"
    assert redact("see https://u:unregistered@h:1/x now") == "see https://u:***@h:1/x now"
    # plain text around it is left alone
    assert redact("the password is wrong: check RAGSTREAM_PASSWORD") == (
        "the password is wrong: check RAGSTREAM_PASSWORD"
    )


def test_every_ragstream_error_is_redacted() -> None:
    Settings(openai_api_key="sk-in-an-error-42")
    assert str(StoreError("server said sk-in-an-error-42")) == "server said ***"


@pytest.mark.parametrize(("url", "password"), HOSTILE_URLS)
def test_cli_prints_a_hostile_database_url_without_its_password(
    url: str, password: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    pytest.importorskip("psycopg")
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", url)
    with pytest.raises(SystemExit) as exit_info:
        main(["docs", "--workspace", str(tmp_path / "ws")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert password not in err and "Pa55" not in err


def test_an_unexpected_exception_prints_a_traceback_without_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ragstream.commands.core as core

    Settings(password="trace-Pa55word")

    def broken(options: object) -> None:
        raise RuntimeError("bug while holding trace-Pa55word")

    monkeypatch.setattr(core, "open_workspace", broken)
    with pytest.raises(SystemExit):
        main(["docs"])
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: bug while holding ***" in err
    assert "trace-Pa55word" not in err


def test_log_records_and_their_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    Settings(openai_api_key="sk-in-the-log-99")
    logger = logging.getLogger("ragstream.test")
    with caplog.at_level(logging.INFO, logger="ragstream.test"):
        logger.info("calling with key %s", "sk-in-the-log-99")
        try:
            raise ValueError("header Bearer sk-in-the-log-99")
        except ValueError:
            logger.exception("failed")
    assert "sk-in-the-log-99" not in caplog.text
    assert "calling with key ***" in caplog.text
    assert "ValueError: header Bearer ***" in caplog.text
    plain = logging.getLogRecordFactory()("x", logging.INFO, "f", 1, "%s %s", ("a", "b"), None)
    assert plain.args == ("a", "b")  # a record with no secret keeps its args for formatters
