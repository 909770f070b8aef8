"""The RAGstream page. Streamlit runs this file top to bottom on every interaction.

Layout: the sidebar holds the LLM status, the retrieval controls and the documents
(upload, list, remove); the main area is the chat on the left and the sources panel on
the right. Settings come from the environment (RAGSTREAM_*, as `ragstream serve` sets
them); nothing here is heavier than one library call per action.
"""

from __future__ import annotations

import dataclasses
import logging

import streamlit as st

from ragstream.app import auth, chat, chats_panel, components, conversations
from ragstream.app.access import adopt_old_password_chats, page_access
from ragstream.app.admin_panel import admin_panel
from ragstream.app.sources_panel import sources_panel
from ragstream.app.state import session, shared_workspace
from ragstream.config import load_settings
from ragstream.errors import RagstreamError
from ragstream.redact import install_log_redaction, redact

log = logging.getLogger("ragstream.app")
install_log_redaction()  # the server log gets no secret either (idempotent per process)


def main() -> None:
    st.set_page_config(page_title="RAGstream", page_icon=":material/library_books:", layout="wide")
    st.html(components.PAGE_STYLE)
    try:
        settings = load_settings()
    except RagstreamError as exc:
        st.error(f"Settings: {exc}")
        st.stop()
    auth.require_access(settings.password)

    state = session()
    options = components.sidebar_controls(settings)
    chats_dir = conversations.user_dir(settings.workspace, auth.current_user())
    # The chat box is drawn before the index is touched: the page is usable at once,
    # and a question asked during the warm-up simply waits for it.
    question = st.chat_input("Ask your documents…")
    chat_column, sources_column = st.columns([3, 2], gap="large")
    try:
        workspace = shared_workspace(settings)
    except RagstreamError as exc:
        st.error(str(exc))
        st.stop()
    try:
        access = page_access(workspace, settings)
    except RagstreamError as exc:
        st.error(str(exc))
        st.stop()
    adopt_old_password_chats(workspace, access.user)  # before the chats are listed
    collections = None if access.collections is None else tuple(access.collections)
    options = dataclasses.replace(options, user=access.user, collections=collections)
    with chat_column:
        if not state.messages and not question:
            st.markdown("### Ask your documents")
            st.caption("Answers cite file and page; click a citation to read the passage.")
        for index, message in enumerate(state.messages):
            components.show_message(message, index, state)
        asked = question.strip() if question else ""
        if asked and chat.answer(asked, workspace, options, state):
            conversations.save(chats_dir, state.chat_id, state.messages)
    with sources_column, st.container(key=components.SOURCES_KEY):
        components.sources_panel(state, workspace)
    try:
        components.upload_panel(workspace, state, access)
        components.documents_panel(workspace, access)
        chats_panel.chats_panel(chats_dir, state)
        admin_panel(workspace, access)  # admins and owners only
        if access.admin:  # syncing folders, URLs and buckets is the admin's
            sources_panel(workspace)
    except RagstreamError as exc:
        st.error(str(exc))


try:
    main()
except Exception as exc:  # the last line of defence: a reason, never a traceback
    log.exception("unexpected error in the page")
    st.error(redact(f"Something went wrong: {exc}. The server log has the details."))
