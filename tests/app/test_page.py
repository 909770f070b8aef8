"""The page, headless: streamlit.testing.v1.AppTest runs the real script on the real
library (a real workspace in tmp_path; only the LLM is a loopback HTTP server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ragstream.app import auth
from ragstream.app.cli import SCRIPT
from ragstream.app.components import html_table
from tests.app.page_helpers import (
    DOC,
    RUN_TIMEOUT,
    ask,
    documents,
    page,
    table_rows,
    texts,
    upload,
)
from tests.generate.sse_server import ChatServer, Reply, start_server


def test_documents_table_shows_any_file_name_as_it_is() -> None:
    name = "a|b *c* $5 :red[x] <i>&amp;.md"
    table = html_table([{"Document": name, "Chunks": 3}])
    assert "<th>Document</th><th>Chunks</th>" in table
    assert '<td class="number">3</td>' in table
    assert table_rows(table) == [[name, "3"]]


def test_offline_mode_and_open_app_warning(env: Path) -> None:
    at = page()
    assert not at.exception and not at.error
    assert "Offline mode" in at.sidebar.info[0].value
    assert "open to anyone" in at.warning[0].value
    assert [r.label for r in at.sidebar.radio] == ["Retrieval"]
    assert at.sidebar.radio[0].options == ["hybrid", "bm25", "dense"]
    assert at.sidebar.text_input[0].disabled  # no LLM: the model choice does not apply


def test_with_a_password_the_page_draws_only_for_a_visitor_the_gateway_let_in(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The password is checked by the gateway (tests/web); the page refuses a request
    # that did not come through it, and offers a logout to one that did.
    monkeypatch.setenv("RAGSTREAM_PASSWORD", "correct horse")
    at = page()
    assert len(at.chat_input) == 0 and len(at.sidebar.file_uploader) == 0
    assert "ragstream serve" in at.error[0].value
    assert "open to anyone" not in texts(at)
    monkeypatch.setattr(auth, "gateway_user", lambda: "admin")  # the shared password's session
    at = page()
    assert not at.error
    assert len(at.chat_input) == 1 and len(at.sidebar.file_uploader) == 1
    assert any("/logout" in str(m.value) for m in at.sidebar.markdown)


def test_same_name_upload_from_another_tab_keeps_both_and_same_bytes_are_unchanged(
    env: Path,
) -> None:
    tab_a = upload(page(), "notes.md", b"# Notes\n\nThe boiler is serviced in March.\n")
    tab_b = upload(page(), "notes.md", b"# Notes\n\nThe roof is inspected in May.\n")
    assert "notes (2).md" in texts(tab_b) and "kept beside it" in texts(tab_b)
    names = sorted(row[0] for row in documents(tab_b))
    assert names == ["notes (2).md", "notes.md"]
    assert (env / "uploads" / "notes.md").read_text().endswith("March.\n")  # A's survives
    again = upload(page(), "notes.md", b"# Notes\n\nThe roof is inspected in May.\n")
    assert "notes (2).md** unchanged" in texts(again)
    assert len(documents(again)) == 2 and "ingested" in texts(tab_a)


def test_upload_of_another_type_or_over_the_limit_is_refused_and_nothing_written(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_MAX_FILE_MB", "0.001")  # 1 kB (1.05 kB: MiB)
    at = page()
    note = "Up to 1.0 kB per file; larger files are refused (RAGSTREAM_MAX_FILE_MB sets the limit)."
    assert note in [c.value for c in at.sidebar.caption]  # on screen before any upload
    at = upload(at, "big.md", b"# big\n" + b"words " * 400)
    assert [e.value for e in at.sidebar.error] == [
        "**big.md** failed: file is 2.3 kB, over the 1.0 kB limit "
        "(raise max_file_mb / RAGSTREAM_MAX_FILE_MB to allow it)"
    ]
    at = upload(at, "tool.exe", b"MZ\x90\x00", "application/octet-stream")
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and errors[0].startswith("**tool.exe** failed: .exe is not supported")
    assert not at.exception
    uploads = env / "uploads"
    assert not uploads.exists() or not [p for p in uploads.iterdir()]


def test_upload_ingests_then_chat_answers_with_a_citation_that_opens_the_passage(
    env: Path,
) -> None:
    at = page()
    at = upload(at, "runbook.md", DOC.encode())
    report = " ".join(c.value for c in at.sidebar.caption)
    assert "runbook.md** ingested" in report, report
    assert (env / "uploads" / "runbook.md").read_text() == DOC
    assert "Documents (1)" in [e.label for e in at.sidebar.expander]

    at = ask(at, "How often is the API key rotated?")
    assert not at.exception and not at.error
    assistant = [m for m in at.chat_message if m.name == "assistant"]
    assert len(assistant) == 1
    answer = assistant[0].markdown[0].value
    assert "90 days" in answer and "[1]" in answer
    citation = next(b for b in assistant[0].button if b.label.startswith("[1] runbook.md"))
    assert "Offline mode" in assistant[0].caption[0].value

    assert "--base-url" not in answer and "operator sets OPENAI_API_KEY" in answer  # page advice
    citation.click().run()
    passage = at.get("html")[0].value
    assert "<mark>The API key is rotated every 90 days by the operator on duty.</mark>" in passage
    assert "**[1] runbook.md**" in texts(at) and "ws/uploads" not in texts(at)
    assert re.search(r"L\d+-\d+", texts(at))  # where in the text file it sits


def test_follow_up_uses_the_history_and_new_chat_clears_it(env: Path) -> None:
    at = page()
    at = upload(at, "runbook.md", DOC.encode())
    at = ask(at, "What does the start script do when the container already exists?")
    at = ask(at, "and how often is the key rotated?")
    assert [m.name for m in at.chat_message] == ["user", "assistant", "user", "assistant"]
    assert "90 days" in at.chat_message[3].markdown[0].value
    next(b for b in at.sidebar.button if b.label == "New chat").click().run()
    assert len(at.chat_message) == 0


def test_prompt_only_shows_the_assembled_prompt_to_copy(env: Path) -> None:
    at = page()
    at = upload(at, "runbook.md", DOC.encode())
    at.sidebar.toggle[0].set_value(True).run()
    at = ask(at, "How often is the API key rotated?")
    prompt = at.chat_message[1].code[0].value
    assert "How often is the API key rotated?" in prompt
    assert "[1] " in prompt and "every 90 days" in prompt
    assert not at.chat_message[1].button  # nothing was answered, so nothing cited


def test_web_messages_give_advice_for_the_page_not_the_cli(env: Path) -> None:
    at = ask(page(), "Is there anything about penguins?")  # nothing ingested yet
    answer = at.chat_message[1].markdown[0].value
    assert "Add documents" in answer and "ragstream ingest" not in answer
    assert "operator" in at.sidebar.info[0].value and "--" not in at.sidebar.info[0].value


def test_remove_document(env: Path) -> None:
    at = page()
    at = upload(at, "runbook.md", DOC.encode())
    rows = documents(at)
    assert [row[0] for row in rows] == ["runbook.md"] and int(rows[0][2]) >= 1
    remove = next(s for s in at.sidebar.selectbox if s.label == "Remove a document")
    assert remove.options == ["runbook.md"]  # the name the table shows
    remove.select("ws/uploads/runbook.md").run()
    next(b for b in at.sidebar.button if b.label == "Remove").click().run()
    assert "Documents (0)" in [e.label for e in at.sidebar.expander]
    assert not (env / "uploads" / "runbook.md").exists()


def test_a_chat_is_saved_reopened_in_a_new_session_exported_and_deleted(env: Path) -> None:
    at = upload(page(), "runbook.md", DOC.encode())
    at = ask(at, "How often is the API key rotated?")
    assert "Conversations (1)" in [e.label for e in at.sidebar.expander]
    assert len(list((env / "chats" / "default").glob("*.json"))) == 1

    again = page()  # a reload: a new browser session, an empty chat
    assert len(again.chat_message) == 0
    chat_button = next(b for b in again.sidebar.button if b.label.startswith("How often"))
    again = chat_button.click().run()
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert "90 days" in again.chat_message[1].markdown[0].value
    export = again.sidebar.get("download_button")[0]
    assert "Export this chat" in export.proto.label
    delete = next(b for b in again.sidebar.button if b.help == "Delete this chat")
    again = delete.click().run()
    assert "Conversations (0)" in [e.label for e in again.sidebar.expander]
    assert len(again.chat_message) == 0  # the open chat was the deleted one


@pytest.fixture(scope="module")
def llm_server() -> Iterator[ChatServer]:
    server = start_server()
    yield server
    server.shutdown()
    server.server_close()


def test_llm_answer_streams_with_model_name_and_citations(
    env: Path, monkeypatch: pytest.MonkeyPatch, llm_server: ChatServer
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    llm_server.script(Reply(pieces=["Every 90 days ", "[1], by the operator", " [7]."]))
    at = page()
    assert "LLM: gpt-4o-mini" in at.sidebar.success[0].value
    at = upload(at, "runbook.md", DOC.encode())
    at = ask(at, "How often is the API key rotated?")
    assert not at.error, [e.value for e in at.error]
    answer = at.chat_message[1].markdown[0].value
    assert answer == "Every 90 days [1], by the operator."  # [7] points at nothing: dropped
    note = at.chat_message[1].caption[0].value
    assert note.startswith("gpt-4o-mini · hybrid retrieval · search ")
    assert "first token" in note and "total" in note and "tokens" in note
    assert [b.label.split(" ")[0] for b in at.chat_message[1].button] == ["[1]"]
    assert at.chat_message[1].code[0].value == answer  # the Copy popover: code with copy icon


def test_unreachable_llm_is_an_error_line_not_a_traceback(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.app.serve_helpers import free_port

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("RAGSTREAM_OPENAI_TIMEOUT", "2")
    at = page()
    at = upload(at, "runbook.md", DOC.encode())
    at = ask(at, "How often is the API key rotated?")
    assert not at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    reason = at.error[0].value
    assert "127.0.0.1" in reason and "Traceback" not in reason and "\n" not in reason
    assert at.chat_message[1].error[0].value == reason  # shown where the answer would be
    at.run()
    assert len(at.chat_message) == 0  # the failed question is not kept as a turn


def test_documents_survive_a_reload_and_a_server_restart(env: Path) -> None:
    at = page()
    upload(at, "runbook.md", DOC.encode())
    st.cache_resource.clear()  # what a restart does: the next page opens the index from disk
    again = page()  # a new browser session
    assert "Documents (1)" in [e.label for e in again.sidebar.expander]
    assert [row[0] for row in documents(again)] == ["runbook.md"]
    assert len(again.chat_message) == 0  # the chat belongs to the old session


AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "ragstream-test",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}


def test_oidc_login_replaces_the_password_when_configured(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_PASSWORD", "unused when OIDC is configured")
    at = AppTest.from_file(str(SCRIPT), default_timeout=RUN_TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Log in"]
    assert len(at.text_input) == 0 and len(at.chat_input) == 0
    at.user = {"is_logged_in": True, "email": "ann@example.com"}
    at.run()
    assert len(at.chat_input) == 1 and not at.warning  # signed in: no open-app banner
