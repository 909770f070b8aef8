"""The page's pieces: sidebar controls, documents, chat messages and the sources panel.

Each piece draws from the session state and makes at most one library call; the
script (`streamlit_app.py`) only arranges them.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ragstream.app import passages, uploads
from ragstream.app.state import Message, Session, ingest_lock, new_chat
from ragstream.config import RETRIEVAL_MODES, Settings
from ragstream.errors import RagstreamError
from ragstream.generate.events import Source
from ragstream.generate.llm import llm_configured
from ragstream.workspace import FileResult, IngestProgress, Workspace

# Material icons: Streamlit ships the font, so they render without system emoji fonts.
STATUS_ICONS = {
    "ingested": ":material/check_circle:",
    "unchanged": ":material/remove:",
    "skipped": ":material/skip_next:",
    "failed": ":material/error:",
    "removed": ":material/delete:",
}


@dataclass(frozen=True)
class ChatOptions:
    top_k: int
    model: str
    mode: str
    prompt_only: bool


def sidebar_controls(settings: Settings) -> ChatOptions:
    st.sidebar.title("RAGstream")
    llm = llm_configured(settings)
    if llm:
        where = f" at {settings.openai_base_url}" if settings.openai_base_url else ""
        st.sidebar.success(f"LLM: {settings.model}{where}", icon=":material/smart_toy:")
    else:
        st.sidebar.info(
            "Offline mode: answers are extracted from your documents. "
            "Set OPENAI_API_KEY (or OPENAI_API_KEY_FILE) to use an LLM.",
            icon=":material/cloud_off:",
        )
    top_k = st.sidebar.slider(
        "Passages to retrieve (top-k)", 1, max(20, settings.top_k), settings.top_k
    )
    model = st.sidebar.text_input("Model", settings.model, disabled=not llm).strip()
    mode = st.sidebar.radio(
        "Retrieval",
        RETRIEVAL_MODES,
        index=RETRIEVAL_MODES.index(settings.retrieval_mode),
        horizontal=True,
    )
    prompt_only = st.sidebar.toggle(
        "Prompt only", help="Show the assembled prompt to copy into any chat tool; send nothing."
    )
    st.sidebar.button("New chat", on_click=new_chat, icon=":material/add_comment:", width="stretch")
    return ChatOptions(top_k, model or settings.model, str(mode), prompt_only)


# --- documents ----------------------------------------------------------------------
def upload_panel(workspace: Workspace, state: Session) -> None:
    settings = workspace.settings
    # No `type=` filter: Streamlit would raise on other types; our check explains instead.
    files = st.sidebar.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        help=f"{uploads.ACCEPTED}; at most {settings.max_file_mb:g} MB each.",
        key="uploader",
    )
    new = [f for f in files or [] if f.file_id not in state.handled_uploads]
    if new:
        state.last_report = ingest_uploads(workspace, new)
        state.handled_uploads.update(f.file_id for f in new)
    for row in state.last_report:
        icon = STATUS_ICONS.get(row.status, "")
        reason = f": {row.reason}" if row.reason else ""
        chunks = f" ({row.n_chunks} chunks)" if row.status == "ingested" else ""
        line = f"{icon} **{passages.source_label(row.path, None)}** {row.status}{chunks}{reason}"
        (st.sidebar.error if row.status == "failed" else st.sidebar.caption)(line)


def ingest_uploads(workspace: Workspace, files: list[UploadedFile]) -> list[FileResult]:
    """Save each acceptable file, ingest them with a progress bar, report per file."""
    settings = workspace.settings
    target = uploads.uploads_dir(settings)
    rows: list[FileResult] = []
    saved = []
    for file in files:
        try:
            saved.append(
                uploads.save_upload(target, file.name, file.getvalue(), settings.max_file_bytes)
            )
        except RagstreamError as exc:
            rows.append(FileResult(file.name, "failed", str(exc).split(": ", 1)[-1]))
    if not saved:
        return rows
    bar = st.sidebar.progress(0.0, text="Ingesting…")

    def progress(p: IngestProgress) -> None:
        name = passages.source_label(p.path, None) if p.path else ""
        bar.progress(min(p.done / max(p.total, 1), 1.0), text=f"{p.stage} {name}".strip())

    try:
        with ingest_lock(str(settings.workspace)):
            report = workspace.ingest(saved, progress=progress)
    except RagstreamError as exc:
        bar.empty()
        return [*rows, *(FileResult(p.name, "failed", str(exc)) for p in saved)]
    bar.empty()
    for result in report.files:
        if result.status == "failed":
            uploads.discard_upload(settings, workspace.source_path(result.path))
        rows.append(result)
    return rows


def documents_panel(workspace: Workspace) -> None:
    """One table (cheap to redraw with hundreds of documents) and a remove control."""
    documents = sorted(workspace.documents(), key=lambda d: d.ingested_at, reverse=True)
    with st.sidebar.expander(f"Documents ({len(documents)})", expanded=bool(documents)):
        if not documents:
            st.caption("No documents yet: add some above.")
            return
        rows = [
            {
                "Document": passages.source_label(doc.path, None),
                "Pages": doc.n_pages if doc.n_pages else "–",
                "Chunks": doc.n_chunks,
                "Ingested": dt.datetime.fromtimestamp(doc.ingested_at).strftime("%m-%d %H:%M"),
            }
            for doc in documents
        ]
        st.html(html_table(rows))
        choice = st.selectbox(
            "Remove a document",
            [doc.path for doc in documents],
            index=None,
            placeholder="Choose one to remove…",
        )
        st.button(
            "Remove",
            icon=":material/delete:",
            disabled=choice is None,
            on_click=remove_document,
            args=(workspace, choice),
        )


# Like st.table: compact, numbers right-aligned, sideways scrolling in the narrow sidebar.
TABLE_STYLE = """<style>
.ragstream-table { overflow-x: auto; }
.ragstream-table table { border-collapse: collapse; font-size: 0.875rem; }
.ragstream-table th, .ragstream-table td {
  padding: 0.25rem 0.375rem; border: 1px solid rgba(128, 128, 128, 0.25);
  text-align: left; vertical-align: top;
}
.ragstream-table th { font-weight: 400; opacity: 0.75; }
.ragstream-table td.number { text-align: right; }
</style>"""


def html_table(rows: Sequence[Mapping[str, object]]) -> str:
    """The rows as an HTML table for st.html, every value escaped. Not st.table: that
    needs pandas and pyarrow, which the Docker image leaves out (~300 MB) since nothing
    else in the app draws data."""

    def cell(value: object) -> str:
        number = ' class="number"' if isinstance(value, int) else ""
        return f"<td{number}>{html.escape(str(value))}</td>"

    header = "".join(f"<th>{html.escape(name)}</th>" for name in rows[0])
    body = "".join("<tr>" + "".join(map(cell, row.values())) + "</tr>" for row in rows)
    return (
        f'{TABLE_STYLE}<div class="ragstream-table"><table>'
        f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def remove_document(workspace: Workspace, path: str | None) -> None:
    if path is None:
        return
    try:
        with ingest_lock(str(workspace.settings.workspace)):
            workspace.remove(path)
        uploads.discard_upload(workspace.settings, workspace.source_path(path))
        st.toast(f"Removed {passages.source_label(path, None)}")
    except RagstreamError as exc:
        st.error(str(exc))


# --- chat ---------------------------------------------------------------------------
def citation_buttons(message: Message, index: int, state: Session) -> None:
    if not message.citations:
        return
    columns = st.columns(min(len(message.citations), 4))
    for i, source in enumerate(message.citations):
        label = f"[{source.n}] {passages.source_label(source.path, source.page, source.title)}"
        columns[i % len(columns)].button(
            label,
            key=f"cite-{index}-{source.n}",
            help=source.label,
            on_click=select_source,
            args=(state, index, source.n),
        )


def select_source(state: Session, index: int, n: int) -> None:
    state.selected = (index, n)


def show_message(message: Message, index: int, state: Session) -> None:
    with st.chat_message(message.role):
        message_body(message)
        message_footer(message, index, state)


def message_body(message: Message) -> None:
    if message.prompt:
        st.caption("Assembled prompt: copy it with the button at its top right.")
        st.code(message.content, language=None, wrap_lines=True)
    else:
        st.markdown(message.content)


def message_footer(message: Message, index: int, state: Session) -> None:
    if message.note:
        st.caption(message.note)
    citation_buttons(message, index, state)


def sources_panel(state: Session) -> None:
    st.subheader("Sources")
    if state.selected is None:
        st.caption("Click a citation under an answer to read the passage it points to.")
        return
    index, n = state.selected
    if index >= len(state.messages):
        return
    message = state.messages[index]
    source = next((s for s in message.sources if s.n == n), None)
    if source is None:
        return
    show_passage(source, message.content)


def show_passage(source: Source, answer: str) -> None:
    st.markdown(f"**[{source.n}] {source.path}**")
    where = [f"page {source.page}"] if source.page is not None else []
    if source.title:
        where.append(f"§ {source.title}")
    if where:
        st.caption(", ".join(where))
    spans = passages.matching_sentences(source.text, passages.supporting_text(answer, source.n))
    body = passages.highlighted_html(source.text, spans)
    st.html(f'<div class="ragstream-passage" style="white-space: pre-wrap">{body}</div>')
