"""Pure rules of sources: kinds, names, --every, globs, the retry schedule."""

from __future__ import annotations

import pytest

from ragstream.errors import SourceError
from ragstream.sources.registry import SourceState
from ragstream.sources.schedule import backoff, due_at
from ragstream.sources.spec import (
    SourceSpec,
    check_name,
    default_name,
    format_every,
    kind_of,
    parse_every,
)


def test_kind_of_location() -> None:
    assert kind_of("docs") == "folder"
    assert kind_of("https://example.com/a") == "web"
    assert kind_of("HTTP://example.com") == "web"
    assert kind_of("s3://bucket/prefix") == "s3"
    with pytest.raises(SourceError, match="ftp:// scheme is not supported"):
        kind_of("ftp://example.com/x")
    with pytest.raises(SourceError, match="file:// scheme"):
        kind_of("file:///etc/passwd")


def test_default_names_are_usable() -> None:
    assert default_name("/home/me/my docs", "folder") == "my-docs"
    assert default_name("https://example.com/guide/", "web") == "example.com-guide"
    assert default_name("s3://bucket/team/docs/", "s3") == "bucket-team-docs"
    with pytest.raises(SourceError, match="not usable"):
        check_name("../etc")


def test_every_round_trips() -> None:
    assert parse_every("15m") == 900
    assert parse_every("2h") == 7200
    assert parse_every("30s") == 30
    assert parse_every(None) is None
    assert format_every(900) == "15m"
    assert format_every(86400) == "1d"
    for bad in ("15", "0m", "soon", "-5m"):
        with pytest.raises(SourceError, match="--every"):
            parse_every(bad)


def test_include_and_exclude_globs() -> None:
    spec = SourceSpec("s", "folder", "/x", include=("*.md", "*.txt"), exclude=("drafts/*",))
    assert spec.wants("guide/a.md")
    assert spec.wants("b.txt")
    assert not spec.wants("c.pdf")
    assert not spec.wants("drafts/d.md")
    assert SourceSpec("s", "folder", "/x").wants("anything.pdf")


def test_spec_json_round_trip() -> None:
    spec = SourceSpec("s", "web", "https://e.com", every=60, include=("*.html",), depth=2)
    assert SourceSpec.from_json(spec.to_json()) == spec


def test_backoff_grows_and_is_capped_by_the_interval() -> None:
    assert [backoff(n, 3600) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30, 900) == 900


def test_due_at() -> None:
    spec = SourceSpec("s", "web", "https://e.com", every=900)
    assert due_at(SourceSpec("s", "web", "https://e.com"), SourceState()) is None
    assert due_at(spec, SourceState()) == 0.0
    assert due_at(spec, SourceState(last_sync=1000.0)) == 1900.0
    failing = SourceState(last_sync=1000.0, last_ok=False, consecutive_failures=2)
    assert due_at(spec, failing) == 1060.0


def test_credentials_in_a_url_are_refused() -> None:
    from ragstream.sources.spec import normalize_location

    with pytest.raises(SourceError, match="holds a user name or password") as caught:
        normalize_location("https://bob:s3cret@intranet.example/wiki", "web")
    assert "s3cret" not in str(caught.value)
