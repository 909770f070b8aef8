"""The sidebar's saved conversations: reopen, delete, export the open one as Markdown."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ragstream.app import conversations
from ragstream.app.state import Session

SHOWN = 20  # the newest chats listed; older ones stay on disk


def open_chat(state: Session, directory: Path, chat_id: str) -> None:
    try:
        state.messages = conversations.load(directory, chat_id)
    except (OSError, ValueError) as exc:
        st.toast(f"Could not open that chat: {exc}")
        return
    state.chat_id = chat_id
    state.selected = None


def delete_chat(state: Session, directory: Path, chat_id: str) -> None:
    conversations.delete(directory, chat_id)
    if state.chat_id == chat_id:
        state.messages.clear()
        state.selected = None
        state.new_chat_id()


def chats_panel(directory: Path, state: Session) -> None:
    chats = conversations.list_chats(directory)
    with st.sidebar.expander(f"Conversations ({len(chats)})"):
        if state.messages:
            st.download_button(
                "Export this chat (Markdown)",
                conversations.to_markdown(state.messages),
                file_name="ragstream-chat.md",
                mime="text/markdown",
                icon=":material/download:",
                width="stretch",
            )
        if not chats:
            st.caption("Chats are saved here after each answer.")
        for chat in chats[:SHOWN]:
            left, right = st.columns([5, 1], vertical_alignment="center")
            current = chat.id == state.chat_id
            left.button(
                chat.title,
                key=f"chat-open-{chat.id}",
                on_click=open_chat,
                args=(state, directory, chat.id),
                type="primary" if current else "secondary",
                width="stretch",
            )
            right.button(
                "",
                key=f"chat-delete-{chat.id}",
                icon=":material/delete:",
                help="Delete this chat",
                on_click=delete_chat,
                args=(state, directory, chat.id),
            )
