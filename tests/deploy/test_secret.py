"""secret set/check against moto: SecureString round trip; the value shows up nowhere."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.aws

VALUE = "sk-test-7f3a9c0e1b2d4f6a8c0e2b4d6f8a0c2e"


def test_secret_set_from_stdin_round_trips_and_never_shows(account, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # capture every logger, botocore's DEBUG included
    stored = account.run("secret", "set", input=VALUE + "\n")
    assert stored.exit_code == 0, stored.output
    assert "stored /ragstream/prod/OPENAI_API_KEY as SecureString, version 1" in stored.output

    checked = account.run("secret", "check")
    assert checked.exit_code == 0, checked.output
    assert (
        "/ragstream/prod/OPENAI_API_KEY: SecureString, version 1, last modified 20"
        in checked.output
    )

    again = account.run("secret", "set", "/other/KEY", input=VALUE)
    assert again.exit_code == 0 and "stored /other/KEY" in again.output

    captured = capfd.readouterr()
    everything = [stored.output, checked.output, again.output, captured.out, captured.err]
    everything += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the log capture must have seen botocore's records"
    assert not [text for text in everything if VALUE in text or VALUE[:12] in text]

    # only now decrypt (the test's own call would log the value at DEBUG)
    caplog.set_level(logging.WARNING)
    ssm = account.aws.client("ssm")
    parameter = ssm.get_parameter(Name="/ragstream/prod/OPENAI_API_KEY", WithDecryption=True)
    assert parameter["Parameter"]["Type"] == "SecureString"
    assert parameter["Parameter"]["Value"] == VALUE


def test_secret_check_says_when_missing_and_set_refuses_empty(account):
    missing = account.run("secret", "check")
    assert missing.exit_code == 1
    assert "does not exist: run `ragstream deploy secret set`" in missing.output
    empty = account.run("secret", "set", input="\n")
    assert empty.exit_code == 1
    assert "refusing to store an empty value" in str(empty.exception)


def test_secret_set_from_the_hidden_prompt(account, monkeypatch):
    monkeypatch.setattr("ragstream.deploy.cli.stdin_is_terminal", lambda: True)
    typed = account.run("secret", "set", input=f"{VALUE}\n{VALUE}\n")
    assert typed.exit_code == 0, typed.output
    assert "Repeat for confirmation" in typed.output
    assert VALUE not in typed.output  # hidden: the typed text is not echoed
    mismatch = account.run("secret", "set", input=f"{VALUE}\nsomething-else\n{VALUE}\n{VALUE}\n")
    assert "do not match" in mismatch.output and VALUE not in mismatch.output
