"""What lives where: one Workspace per process, one chat per browser session.

The Workspace (embedder, store) is heavy and thread-safe enough to share, so it is a
`st.cache_resource` keyed by the settings; the chat, the selected citation and the
handled uploads belong to one browser tab and live in `st.session_state`.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import streamlit as st

from ragstream.config import Settings
from ragstream.generate.events import Source
from ragstream.generate.tokens import counter_for
from ragstream.workspace import FileResult, Workspace


@dataclass
class Message:
    role: str  # "user" or "assistant"
    content: str
    sources: tuple[Source, ...] = ()  # everything the answer could cite
    citations: tuple[Source, ...] = ()  # what it did cite
    note: str = ""  # e.g. "offline mode" or the model and timing
    prompt: bool = False  # content is an assembled prompt, not an answer


@dataclass
class IngestJob:
    """An ingest running in its own thread; the page only reads it."""

    done: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0
    text: str = ""
    rows: list[FileResult] = field(default_factory=list)  # final once done


@dataclass
class Session:
    messages: list[Message] = field(default_factory=list)
    selected: tuple[int, int] | None = None  # (message index, source number [n])
    handled_uploads: set[str] = field(default_factory=set)  # uploader file ids done
    last_report: list[FileResult] = field(default_factory=list)  # the last upload's
    ingest: IngestJob | None = None  # the upload being ingested, if any
    chat_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # its saved file's name

    def new_chat_id(self) -> None:
        self.chat_id = uuid.uuid4().hex


def session() -> Session:
    if "ragstream" not in st.session_state:
        st.session_state["ragstream"] = Session()
    state: Session = st.session_state["ragstream"]
    return state


def new_chat() -> None:
    state = session()
    state.messages = []  # a fresh list: the saved chat keeps the old one
    state.selected = None
    state.new_chat_id()


@st.cache_resource(show_spinner="Loading the index…")
def shared_workspace(settings: Settings) -> Workspace:
    """One Workspace per settings for the whole process, loaded before it is returned:
    the models, the index and the token counter, so no question pays for them."""
    workspace = Workspace.open(settings)
    workspace.warm_up()
    counter_for(settings.model).count("warm up")
    return workspace


@st.cache_resource
def ingest_lock(workspace: str) -> threading.Lock:
    """Two tabs uploading at once take turns: one writer per workspace."""
    return threading.Lock()
