"""Workspace: the one library object behind the CLI, the page and the HTTP API.

    ws = Workspace.open(settings)          # or Workspace.open(workspace=Path("x"))
    report = ws.ingest([Path("docs")])     # incremental, crash-safe
    hits = ws.search("how do I rotate the key?", k=5)
    for event in ws.ask("...", history=[...]): ...   # Sources, Delta..., Done

Heavy objects (embedder, store) are created on first use and kept for the object's life.

Access: the methods that read or change documents take `user` (an access.Identity from
`ws.accounts.login(...)` or `ws.accounts.identity(...)`); None is the trusted local
caller, an admin. The collection filter goes into the store's queries, so what a user
may not read is never a candidate, a source, a prompt passage or an offline answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragstream import embedder_choice
from ragstream.access import Identity, actor
from ragstream.accounts import Accounts
from ragstream.config import Settings, load_settings
from ragstream.errors import EmbedderMismatch
from ragstream.generate.answer import Search, answer, prompt_messages
from ragstream.generate.events import Event
from ragstream.generate.prompt import render_prompt
from ragstream.index.embedder import Embedder, create_embedder
from ragstream.index.factory import open_store, store_location
from ragstream.index.store import Store
from ragstream.ingest.attached import remove_with_attachments
from ragstream.ingest.pipeline import DEFAULT_COLLECTION, Blob, Ingestor
from ragstream.ingest.report import (
    FileResult,
    FileStatus,
    IngestProgress,
    IngestReport,
    ProgressCallback,
)
from ragstream.models import Chunk, DocumentRecord, Hit, Section
from ragstream.retrieve.abstain import abstainer
from ragstream.retrieve.fusion import fusion_for
from ragstream.retrieve.rerank import (
    create_reranker,
    ingest_token_vectors,
    recipe_for,
    reranker_name,
    resolved,
)
from ragstream.retrieve.retriever import Retriever

if TYPE_CHECKING:
    from ragstream.sources.manager import Sources
    from ragstream.sources.sync import BlobIngest

DEFAULT_EMBEDDER = embedder_choice.AUTO

__all__ = [
    "FileResult",
    "FileStatus",
    "IngestProgress",
    "IngestReport",
    "ProgressCallback",
    "Workspace",
]


class Workspace:
    """Documents, index and settings of one workspace directory (or database)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._embedder: Embedder | None = None
        self._embedder_spec: str | None = None  # what "auto" resolved to
        self._retriever: Retriever | None = None

    @classmethod
    def open(cls, settings: Settings | None = None, **overrides: Any) -> Workspace:
        """Open (creating if needed) the workspace that `settings` (plus overrides) name."""
        settings = settings.replace(**overrides) if settings else load_settings(overrides)
        return cls(settings)

    # --- ingest -------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[Path],
        *,
        keep_missing: bool = False,
        progress: ProgressCallback | None = None,
        collection: str = DEFAULT_COLLECTION,
        user: Identity | None = None,
    ) -> IngestReport:
        """Bring `collection` in line with the files under `paths` (files or directories).

        Unchanged files (same content hash) cost nothing; changed files are replaced
        whole; files of this collection that vanished from a scanned directory are
        removed unless `keep_missing`. One bad file is reported and never stops the
        others. `user` must be an editor of `collection`.
        """
        skip = self.settings.workspace if not self.settings.database_url else None
        self._choose_embedder(
            lambda: embedder_choice.sample_files(paths, self.base, self.settings.max_file_bytes)
        )
        ingestor = self._ingestor(progress, collection, user)
        report = ingestor.ingest_paths(paths, keep_missing=keep_missing, skip=skip)
        self._audit_report(report, collection, actor(user))
        return report

    def add_documents(
        self,
        documents: Iterable[tuple[str, Sequence[Section]]],
        progress: ProgressCallback | None = None,
        collection: str = DEFAULT_COLLECTION,
        user: Identity | None = None,
    ) -> IngestReport:
        """Index already-loaded documents (path/id, sections), e.g. an eval corpus."""
        texts, documents = embedder_choice.peek_documents(documents)
        self._choose_embedder(lambda: texts)
        report = self._ingestor(progress, collection, user).ingest_documents(documents)
        self._audit_report(report, collection, actor(user))
        return report

    def ingest_blobs(
        self,
        blobs: Iterable[Blob],
        progress: ProgressCallback | None = None,
        *,
        collection: str = DEFAULT_COLLECTION,
        queued_by: str | None = None,
    ) -> IngestReport:
        """Index documents given as bytes into `collection` (what an ingest worker does
        with a job). Trusted: whoever queued them (`queued_by`, the audit log's actor)
        was checked as an editor of `collection` when they were queued."""
        if self._embedder_undecided():  # a worker may ingest a database's first documents
            texts, blobs = embedder_choice.peek_blobs(blobs)
            self._choose_embedder(lambda: texts)
        report = self._ingestor(progress, collection).ingest_blobs(blobs)
        if queued_by is not None:
            self._audit_report(report, collection, queued_by)
        return report

    def documents(
        self, *, collections: Sequence[str] | None = None, user: Identity | None = None
    ) -> list[DocumentRecord]:
        """The documents `user` may read (in `collections`, None: all readable)."""
        return self.store.documents(self.accounts.readable(user, collections))

    def document(self, path: str, *, user: Identity | None = None) -> DocumentRecord | None:
        """The manifest row of `path` when `user` may read it; None when it does not exist
        or is outside their collections (a download route checks this first)."""
        return next((d for d in self.documents(user=user) if d.path == path), None)

    def chunk(self, chunk_id: str, *, user: Identity | None = None) -> Chunk | None:
        """One passage by id when `user` may read its document (a guessed id of another
        collection gets None, as a missing one does)."""
        found = self.store.chunks([chunk_id])
        if not found or self.document(found[0].path, user=user) is None:
            return None
        return found[0]

    @property
    def accounts(self) -> Accounts:
        """Sign-in, collections, members, users and the audit log (ragstream.accounts)."""
        return Accounts(self.store, self.settings.password)

    @property
    def base(self) -> Path:
        """The folder holding the workspace: documents are keyed relative to it, so keys
        do not depend on the directory a command runs from."""
        return self.settings.workspace.resolve().parent

    def source_path(self, key: str) -> Path:
        """The file a document key names (the inverse of how ingest keys files)."""
        path = Path(key)
        return path if path.is_absolute() else self.base / path

    def remove(self, path: str, *, user: Identity | None = None) -> bool:
        """Remove a document; False when it is not in a collection `user` may edit
        (whether it exists elsewhere or not: a guessed path learns nothing)."""
        # A message's attachments (documents of their own) go with it.
        removed = remove_with_attachments(self.store, path, self.accounts.permitted(user, "write"))
        if removed:
            self.store.append_audit(actor(user), "remove", path)
        return removed

    @property
    def sources(self) -> Sources:
        """The workspace's sources (folders, URLs, S3 prefixes): ragstream.sources.manager."""
        from ragstream.sources.manager import Sources
        from ragstream.sources.registry import Registry
        from ragstream.sources.sync import Syncer

        s = self.settings
        syncer = Syncer(
            Registry(s.workspace),
            self.store,
            self._sync_ingestor,
            base=self.base,
            max_bytes=s.max_file_bytes,
            skip=s.workspace if not s.database_url else None,
        )
        return Sources(syncer)

    def _sync_ingestor(self) -> BlobIngest:
        """In a fleet (a database and a blob store) syncs queue jobs for the workers."""
        from ragstream.queue.blobs import blob_location, open_blobs
        from ragstream.queue.submit import QueueingIngestor

        if self.settings.database_url and blob_location():
            _ = self.store  # migrations: the job table exists
            return QueueingIngestor(self.settings.database_url, open_blobs(blob_location()))
        return self._ingestor(None)

    # --- retrieve -----------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
        user: Identity | None = None,
        rerank: bool = False,
    ) -> list[Hit]:
        """Top-k chunks for `query`: "hybrid" (default), "bm25" or "dense", from the
        `collections` asked for (None: every one) that `user` may read; `rerank` applies
        the `reranker` setting's second pass (answers always do)."""
        allowed = self.accounts.readable(user, collections)
        return self._search(query, k, mode, path_glob, allowed, rerank)

    def _search(
        self,
        query: str,
        k: int | None,
        mode: str | None,
        path_glob: str | None,
        allowed: Sequence[str] | None,
        rerank: bool,
    ) -> list[Hit]:
        return self.retriever.search(
            query,
            k=k or self.settings.top_k,
            mode=mode or self.settings.retrieval_mode,
            path_glob=path_glob,
            collections=allowed,
            rerank=rerank,
        )

    # --- answer ---------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load what a first question needs (the embedder, the index, the offline reranker
        and abstention models) without asking an LLM anything: the first visitor waits
        for none of it."""
        from ragstream.retrieve.rerank_onnx import ColbertReranker, CrossEncoderReranker

        self.search("warm up", k=1)
        probe = [Chunk(id="warm-up", path="", text="warm up", ordinal=0)]
        for model in (self.retriever.reranker, abstainer(self.settings.abstain).scorer):
            if isinstance(model, ColbertReranker | CrossEncoderReranker):  # never an LLM call
                model.rerank("warm up", probe)

    def ask(
        self,
        question: str,
        *,
        history: Iterable[Any] = (),
        model: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        path_glob: str | None = None,
        offline: bool | None = None,
        collections: Sequence[str] | None = None,
        user: Identity | None = None,
    ) -> Iterator[Event]:
        """Sources, then Delta events, then Done (see ragstream.generate.events).

        `history` holds earlier turns ({"role", "content"} or (role, text)); `offline=None`
        uses an LLM when one is configured, else answers extractively.
        """
        return answer(
            question,
            history,
            settings=self.settings,
            search=self._search_with(k, mode, path_glob, collections, user),
            embed=lambda texts: self.embedder.embed(texts),
            model=model,
            offline=offline,
        )

    def prompt(
        self,
        question: str,
        *,
        history: Iterable[Any] = (),
        model: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        path_glob: str | None = None,
        collections: Sequence[str] | None = None,
        user: Identity | None = None,
    ) -> str:
        """The whole prompt `ask` would send to an LLM, as text to copy; sends nothing."""
        messages, _ = prompt_messages(
            question,
            history,
            settings=self.settings,
            search=self._search_with(k, mode, path_glob, collections, user),
            model=model,
        )
        return render_prompt(messages)

    def _search_with(
        self,
        k: int | None,
        mode: str | None,
        path_glob: str | None,
        collections: Sequence[str] | None,
        user: Identity | None,
    ) -> Search:
        allowed = self.accounts.readable(user, collections)  # checked once, before any output
        # answers rerank (the `reranker` setting); plain `search` does only when asked
        return lambda query: self._search(query, k, mode, path_glob, allowed, rerank=True)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._retriever = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the heavy parts, made once ---------------------------------------------------
    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(store_location(self.settings))
        return self._store

    @property
    def embedder(self) -> Embedder:
        """The embedder that built this index (or will): a different one is an error."""
        if self._embedder is None:
            meta = self.store.get_meta()
            spec = self.settings.embedder
            if spec == DEFAULT_EMBEDDER:
                # The index remembers what built it (older indexes: the builtin default);
                # a new one gets what its first ingest chose, else MiniLM.
                recorded = meta.get("embedder_spec") or ("builtin" if meta else "")
                spec = recorded or self._embedder_spec or "builtin"
            self._embedder_spec = spec
            embedder = create_embedder(spec, **self._embedder_options(spec))
            if meta:
                _check_embedder(meta, embedder, self.settings)
            self._embedder = embedder
        return self._embedder

    def _embedder_undecided(self) -> bool:
        """embedder = "auto" and nothing indexed yet: the first documents choose."""
        return self.settings.embedder == DEFAULT_EMBEDDER and not self.store.get_meta()

    def _choose_embedder(self, sample: Callable[[], list[str]]) -> None:
        """With embedder = "auto", pick a new workspace's model from its first documents."""
        if not self._embedder_undecided():
            return
        chosen = embedder_choice.choose(sample())
        if chosen != self._embedder_spec:  # a search before the first ingest loaded MiniLM
            self._embedder_spec = chosen
            self._embedder = None
            self._retriever = None

    def _embedder_options(self, spec: str) -> dict[str, Any]:
        if not spec.startswith("openai:"):
            return {}
        s = self.settings
        return {
            "api_key": s.openai_api_key,
            "base_url": s.openai_base_url,
            "timeout": s.openai_timeout,
        }

    def _record_embedder(self) -> None:
        if not self.store.get_meta():
            e = self.embedder
            self.store.set_meta(
                {"embedder": e.name, "dim": str(e.dim), "embedder_spec": self._embedder_spec or ""}
            )

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            settings = resolved(self.settings, self.embedder.name)
            recipe = recipe_for(reranker_name(settings))
            self._retriever = Retriever(
                self.store,
                self.embedder,
                create_reranker(settings, self.store),
                fusion=fusion_for(self.embedder.name),
                rerank_depth=recipe.depth,
                rerank_weight=recipe.weight,
            )
        return self._retriever

    def _ingestor(
        self,
        progress: ProgressCallback | None,
        collection: str = DEFAULT_COLLECTION,
        user: Identity | None = None,
    ) -> Ingestor:
        self.accounts.require(user, "write", collection)
        editable = self.accounts.permitted(user, "write")
        self._record_embedder()
        s = self.settings
        return Ingestor(
            self.store,
            self.embedder,
            chunk_tokens=s.chunk_tokens,
            chunk_overlap=s.chunk_overlap,
            max_bytes=s.max_file_bytes,
            base=self.base,
            progress=progress,
            collection=collection,
            may_take_from=lambda other: editable is None or other in editable,
            ocr_mode=s.ocr,
            token_vectors=ingest_token_vectors(resolved(s, self.embedder.name)),
        )

    def _audit_report(self, report: IngestReport, collection: str, who: str) -> None:
        """Who uploaded and removed what: one audit entry per changed file."""
        for status, action in (("ingested", "upload"), ("removed", "remove")):
            paths = [f.path for f in report.files if f.status == status]
            if paths:
                self.store.append_audit(who, action, paths, detail=collection)


def _check_embedder(meta: dict[str, str], embedder: Embedder, settings: Settings) -> None:
    built_with = f"{meta.get('embedder')} ({meta.get('dim')}-d)"
    asked = f"{embedder.name} ({embedder.dim}-d)"
    if meta.get("embedder") != embedder.name or meta.get("dim") != str(embedder.dim):
        where = "the database" if settings.database_url else settings.workspace
        raise EmbedderMismatch(
            f"the index in {where} was built with {built_with} but the embedder setting "
            f"gives {asked}: use --embedder {meta.get('embedder_spec', 'builtin')} "
            "or a new workspace"
        )
