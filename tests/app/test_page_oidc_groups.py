"""Groups from the OIDC login are collection members on the page (AppTest with st.login
configured and a signed-in st.user): the `groups` claim, or the claim that
RAGSTREAM_GROUPS_CLAIM names, decides the picker, the uploader and the admin view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from ragstream.app.auth import oidc_groups
from ragstream.app.cli import SCRIPT
from ragstream.workspace import Workspace
from tests.app.page_helpers import RUN_TIMEOUT, documents, texts

AUTH = {  # st.login's settings; nothing is fetched while st.user is given
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "ragstream-test",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}


@pytest.fixture
def teams(env: Path, tmp_path: Path) -> Path:
    """hr: group devs reads it, group hr-leads owns it; default: no one but admins."""
    for folder in ("hr", "pub"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder}.txt").write_text(f"The {folder} notes.", encoding="utf-8")
    with Workspace.open(workspace=env) as ws:
        ws.accounts.create_collection("hr")
        ws.ingest([tmp_path / "hr"], collection="hr")
        ws.ingest([tmp_path / "pub"])
        ws.accounts.grant("hr", "group:devs", "viewer")
        ws.accounts.grant("hr", "group:hr-leads", "owner")
    return env


def signed_in(**claims: Any) -> AppTest:
    at = AppTest.from_file(str(SCRIPT), default_timeout=RUN_TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": "carol@example.com", **claims}
    return at.run()


def picker(at: AppTest) -> list[str]:
    return list(at.selectbox(key="collection").options)


def test_a_group_in_the_claim_grants_its_collections(teams: Path) -> None:
    at = signed_in(groups=["devs", "unrelated"])
    assert not at.exception and "Signed in as **carol@example.com**" in texts(at)
    assert picker(at) == ["All collections", "hr"]
    assert [row[0] for row in documents(at)] == ["hr.txt"]  # never pub.txt
    assert len(at.sidebar.file_uploader) == 0  # devs only read hr
    assert "Manage collections" not in [e.label for e in at.sidebar.expander]

    nobody = signed_in()  # no groups claim: no collection at all
    assert picker(nobody) == ["All collections"] and not documents_shown(nobody)


def test_a_group_owner_gets_the_admin_view_of_that_collection(teams: Path) -> None:
    at = signed_in(groups="hr-leads")  # some providers send one string
    assert picker(at) == ["All collections", "hr"]
    at.selectbox(key="collection").select("hr")
    at = at.run()
    assert len(at.sidebar.file_uploader) == 1  # an owner edits, too
    assert "Manage collections" in [e.label for e in at.sidebar.expander]
    assert "Audit log" not in [e.label for e in at.sidebar.expander]


def test_the_claim_name_is_a_setting(teams: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGSTREAM_GROUPS_CLAIM", "roles")
    assert picker(signed_in(groups=["devs"])) == ["All collections"]  # not the claim read
    assert picker(signed_in(roles=["devs"])) == ["All collections", "hr"]


def test_claim_values_are_read_as_providers_send_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    for value, expected in (
        (["a", "b", "a", " "], ("a", "b")),
        ("a, b c", ("a", "b", "c")),
        (None, ()),
        (7, ()),
    ):
        monkeypatch.setattr(st, "user", {"groups": value})
        assert oidc_groups("groups") == expected


def documents_shown(at: AppTest) -> bool:
    return any("ragstream-table" in h.value for h in at.sidebar.html)
