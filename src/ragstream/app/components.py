"""The page's pieces: sidebar controls, documents, chat messages and the sources panel.

Each piece draws from the session state and makes at most one library call; the
script (`streamlit_app.py`) only arranges them.
"""

from __future__ import annotations

import datetime as dt
import html
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ragstream import uploads
from ragstream.access import Identity
from ragstream.app import advice, passages, queued, viewer
from ragstream.app.access import PageAccess
from ragstream.app.state import IngestJob, Message, Session, ingest_lock, new_chat
from ragstream.config import RETRIEVAL_MODES, Settings
from ragstream.errors import RagstreamError
from ragstream.generate.events import Source
from ragstream.generate.llm import llm_configured
from ragstream.models import locator
from ragstream.workspace import FileResult, IngestProgress, Workspace

# Material icons: Streamlit ships the font, so they render without system emoji fonts.
STATUS_ICONS = {
    "ingested": ":material/check_circle:",
    "unchanged": ":material/remove:",
    "skipped": ":material/skip_next:",
    "failed": ":material/error:",
    "removed": ":material/delete:",
    "queued": ":material/schedule:",
}


SOURCES_KEY = "ragstream-sources"
# The Sources panel stays in view while the chat scrolls, so a citation clicked under
# the tenth answer shows its passage on screen, not 1,500 px above. Streamlit wraps a
# keyed container in a same-height stLayoutWrapper: that wrapper is what must stick.
PAGE_STYLE = f"""<style>
[data-testid="stLayoutWrapper"]:has(> .st-key-{SOURCES_KEY}) {{
  position: sticky; top: 4rem; align-self: flex-start;
}}
.st-key-{SOURCES_KEY} {{ max-height: calc(100vh - 6rem); overflow-y: auto; }}
</style>"""


@dataclass(frozen=True)
class ChatOptions:
    top_k: int
    model: str
    mode: str
    prompt_only: bool
    user: Identity | None = None  # who asks (ragstream.app.access)
    collections: tuple[str, ...] | None = None  # the picker's choice; None: all readable


def sidebar_controls(settings: Settings) -> ChatOptions:
    st.sidebar.title("RAGstream")
    llm = llm_configured(settings)
    if llm:
        where = f" at {settings.openai_base_url}" if settings.openai_base_url else ""
        st.sidebar.success(f"LLM: {settings.model}{where}", icon=":material/smart_toy:")
    else:
        st.sidebar.info(advice.SIDEBAR_OFFLINE, icon=":material/cloud_off:")
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
def upload_panel(workspace: Workspace, state: Session, access: PageAccess) -> None:
    settings = workspace.settings
    if not access.may_upload:  # a viewer: no uploader at all, so nothing is sent in vain
        st.sidebar.caption(f"You may read {access.upload_to}, not add documents to it.")
        return
    # No `type=` filter: Streamlit would raise on other types; our check explains instead.
    files = st.sidebar.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        help=f"{uploads.ACCEPTED}.",
        key="uploader",
    )
    # On screen, not on hover: Streamlit's own refusal of a file over its (equal,
    # rounded-up) limit only shows as a tooltip.
    st.sidebar.caption(uploads.limit_note(settings.max_file_bytes))
    new = [f for f in files or [] if f.file_id not in state.handled_uploads]
    if new:
        state.handled_uploads.update(f.file_id for f in new)
        state.ingest = start_ingest(workspace, new, access.upload_to, access.user)
    if state.ingest is not None:
        watch_ingest(state.ingest)
        state.last_report = state.ingest.rows
        state.ingest = None
    for row in state.last_report:
        icon = STATUS_ICONS.get(row.status, "")
        reason = f": {row.reason}" if row.reason else ""
        chunks = f" ({row.n_chunks} chunks)" if row.status == "ingested" else ""
        line = f"{icon} **{passages.document_name(row.path)}** {row.status}{chunks}{reason}"
        (st.sidebar.error if row.status == "failed" else st.sidebar.caption)(line)


def start_ingest(
    workspace: Workspace,
    files: list[UploadedFile],
    collection: str = "default",
    user: Identity | None = None,
) -> IngestJob:
    """Save each acceptable file now, then ingest them into `collection` (as `user`, an
    editor of it) in a thread of their own.

    The thread is not the script's: a question asked meanwhile reruns the script (which
    stops whatever the script was doing) but the ingest runs on to its end.
    """
    if queued.queues_uploads(workspace):  # a fleet: the ingest workers embed, not this page
        job = IngestJob(rows=queued.enqueue_uploads(workspace, list(files), collection, user))
        job.done.set()
        return job
    settings = workspace.settings
    target = uploads.uploads_dir(settings)
    job = IngestJob()
    saved = []
    renamed: dict[str, str] = {}  # saved name -> the name it was uploaded as
    for file in files:
        try:
            path = uploads.save_upload(target, file.name, file.getvalue(), settings.max_file_bytes)
            saved.append(path)
            if path.name != uploads.safe_name(file.name):
                renamed[path.name] = uploads.safe_name(file.name)
        except RagstreamError as exc:
            job.rows.append(FileResult(file.name, "failed", str(exc).split(": ", 1)[-1]))
    if not saved:
        job.done.set()
        return job
    lock = ingest_lock(str(settings.workspace))  # a cached resource: fetched in the script
    thread = threading.Thread(
        target=_ingest,
        args=(workspace, saved, renamed, job, lock, collection, user),
        name="ragstream-ingest",
        daemon=True,
    )
    thread.start()
    return job


def _ingest(
    workspace: Workspace,
    saved: list[Path],
    renamed: dict[str, str],
    job: IngestJob,
    lock: threading.Lock,
    collection: str = "default",
    user: Identity | None = None,
) -> None:
    """The ingest thread: no st.* here (no script context), only the job's fields."""
    try:
        job.rows.extend(_ingest_rows(workspace, saved, renamed, job, lock, collection, user))
    finally:
        job.done.set()  # whatever happened, the page stops waiting


def _ingest_rows(
    workspace: Workspace,
    saved: list[Path],
    renamed: dict[str, str],
    job: IngestJob,
    lock: threading.Lock,
    collection: str = "default",
    user: Identity | None = None,
) -> list[FileResult]:
    settings = workspace.settings

    def progress(p: IngestProgress) -> None:
        name = passages.document_name(p.path) if p.path else ""
        job.fraction = min(p.done / max(p.total, 1), 1.0)
        job.text = f"{p.stage} {name} {p.detail}".strip()

    try:
        with lock:
            report = workspace.ingest(saved, progress=progress, collection=collection, user=user)
    except Exception as exc:  # reported in the page, like any failed file
        reason = str(exc) if isinstance(exc, RagstreamError) else f"unexpected error: {exc}"
        return [FileResult(p.name, "failed", reason) for p in saved]
    rows = []
    for result in report.files:
        if result.status == "failed":
            uploads.discard_upload(settings, workspace.source_path(result.path))
        reason = result.reason
        original = renamed.get(Path(result.path).name)
        if original and result.status == "ingested":
            reason = f"another {original} exists, so this one is kept beside it"
        rows.append(FileResult(result.path, result.status, reason, result.n_chunks))
    return rows


def watch_ingest(job: IngestJob) -> None:
    """Show the job's progress until it is done (a rerun may stop the watching, never
    the job: the next run watches on)."""
    if job.done.is_set():
        return
    bar = st.sidebar.progress(job.fraction, text=job.text or "Ingesting…")
    while not job.done.wait(0.2):
        bar.progress(job.fraction, text=job.text or "Ingesting…")
    bar.empty()


def documents_panel(workspace: Workspace, access: PageAccess | None = None) -> None:
    """One table (cheap to redraw with hundreds of documents) and a remove control."""
    access = access or PageAccess(None, None, True)
    found = workspace.documents(user=access.user, collections=access.collections)
    documents = sorted(found, key=lambda d: d.ingested_at, reverse=True)
    with st.sidebar.expander(f"Documents ({len(documents)})", expanded=bool(documents)):
        if not documents:
            st.caption("No documents yet: add some above.")
            return
        rows = [
            {
                "Document": passages.document_name(doc.path),
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
            format_func=passages.document_name,
            index=None,
            placeholder="Choose one to remove…",
        )
        st.button(
            "Remove",
            icon=":material/delete:",
            disabled=choice is None,
            on_click=remove_document,
            args=(workspace, choice, access.user),
        )


# Like st.table: compact, numbers right-aligned, sideways scrolling in the narrow sidebar.
TABLE_STYLE = """<style>
.ragstream-table { overflow-x: auto; }
.ragstream-table table { border-collapse: collapse; font-size: 0.875rem; width: 100%; }
/* Long names wrap, so Chunks and Ingested stay in view in the narrow sidebar. */
.ragstream-table td:first-child { overflow-wrap: anywhere; word-break: break-word; }
.ragstream-table td:not(:first-child) { white-space: nowrap; }
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


def remove_document(workspace: Workspace, path: str | None, user: Identity | None = None) -> None:
    if path is None:
        return
    try:
        with ingest_lock(str(workspace.settings.workspace)):
            removed = workspace.remove(path, user=user)
        if not removed:  # a viewer of its collection: the library refused
            st.error(f"You may not remove {passages.document_name(path)}.")
            return
        uploads.discard_upload(workspace.settings, workspace.source_path(path))
        st.toast(f"Removed {passages.document_name(path)}")
    except RagstreamError as exc:
        st.error(str(exc))


# --- chat ---------------------------------------------------------------------------
def citation_buttons(message: Message, index: int, state: Session) -> None:
    if not message.citations:
        return
    labels = passages.citation_labels(message.citations)
    # A row that wraps, each button as wide as its label: nothing is cut to "git-reba…".
    with st.container(horizontal=True, gap="small"):
        for source, label in zip(message.citations, labels, strict=True):
            st.button(
                label,
                key=f"cite-{index}-{source.n}",
                help=passages.source_label(source.path, source.page, source.title, source.lines),
                on_click=select_source,
                args=(state, index, source.n),
                width="content",
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
    if message.role == "assistant" and not message.prompt:
        # Streamlit's code block carries its own copy-to-clipboard button.
        with st.popover("Copy", icon=":material/content_copy:"):
            st.code(message.content, language="markdown", wrap_lines=True)


def sources_panel(state: Session, workspace: Workspace) -> None:
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
    show_passage(source, message.content, workspace.source_path(source.path))


def show_passage(source: Source, answer: str, file: Path | None = None) -> None:
    st.markdown(f"**[{source.n}] {passages.document_name(source.path)}**")
    where = [f"page {source.page}"] if source.page is not None else []
    if source.lines is not None:  # the passage's first and last line in the file
        where = [locator(source.path, source.page, None, source.lines)]
    if source.title:
        where.append(f"§ {source.title}")
    is_pdf = file is not None and file.suffix.lower() == ".pdf" and file.is_file()
    if source.lines is None and file is not None and not is_pdf and file.is_file():
        # Loaders that keep lines (text) gave them at ingest; for the others (Markdown,
        # HTML sections) find the passage in the file.
        found = viewer.cited_lines(file, source.text)
        if found:
            where.append(locator(source.path, None, None, found))
    if where:
        st.caption(", ".join(where))
    spans = passages.matching_sentences(source.text, passages.supporting_text(answer, source.n))
    body = passages.highlighted_html(source.text, spans)
    st.html(f'<div class="ragstream-passage" style="white-space: pre-wrap">{body}</div>')
    if is_pdf and file is not None and source.page is not None:
        quotes = tuple(source.text[start:end] for start, end in spans)
        with st.expander(f"Page {source.page} of {file.name}", expanded=True):
            try:
                png = page_image(str(file), file.stat().st_mtime, source.page, quotes)
            except Exception as exc:  # a PDF that changed or broke since ingest
                st.caption(f"The page could not be drawn: {exc}")
            else:
                st.image(png, caption="The cited sentences are marked.")


@st.cache_data(max_entries=32, show_spinner=False)
def page_image(path: str, mtime: float, page: int, quotes: tuple[str, ...]) -> bytes:
    """Rendered once per (file version, page, quotes): mtime is in the key on purpose."""
    return viewer.pdf_page_png(Path(path), page, quotes)
