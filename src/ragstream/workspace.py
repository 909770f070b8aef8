"""Workspace: the one library object behind the CLI and the UI.

    ws = Workspace.open(settings)          # or Workspace.open(workspace=Path("x"))
    report = ws.ingest([Path("docs")])     # incremental, crash-safe
    hits = ws.search("how do I rotate the key?", k=5)
    for event in ws.ask("...", history=[...]): ...   # Sources, Delta..., Done

Heavy objects (embedder, store) are created on first use and kept for the object's life.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragstream.config import Settings, load_settings
from ragstream.errors import EmbedderMismatch
from ragstream.generate.answer import Search, answer, prompt_messages
from ragstream.generate.events import Event
from ragstream.generate.prompt import render_prompt
from ragstream.index.embedder import Embedder, create_embedder
from ragstream.index.factory import open_store, store_location
from ragstream.index.store import Store
from ragstream.ingest.pipeline import Blob, Ingestor
from ragstream.ingest.report import (
    FileResult,
    FileStatus,
    IngestProgress,
    IngestReport,
    ProgressCallback,
)
from ragstream.models import DocumentRecord, Hit, Section
from ragstream.retrieve.rerank import create_reranker
from ragstream.retrieve.retriever import Retriever

if TYPE_CHECKING:
    from ragstream.sources.manager import Sources
    from ragstream.sources.sync import BlobIngest

DEFAULT_EMBEDDER = "builtin"

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
    ) -> IngestReport:
        """Bring the index in line with the files under `paths` (files or directories).

        Unchanged files (same content hash) cost nothing; changed files are replaced
        whole; files that vanished from a scanned directory are removed unless
        `keep_missing`. One bad file is reported and never stops the others.
        """
        skip = self.settings.workspace if not self.settings.database_url else None
        ingestor = self._ingestor(progress)
        return ingestor.ingest_paths(paths, keep_missing=keep_missing, skip=skip)

    def add_documents(
        self,
        documents: Iterable[tuple[str, Sequence[Section]]],
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Index already-loaded documents (path/id, sections), e.g. an eval corpus."""
        return self._ingestor(progress).ingest_documents(documents)

    def ingest_blobs(
        self, blobs: Iterable[Blob], progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Index documents given as bytes (what an ingest worker does with a job)."""
        return self._ingestor(progress).ingest_blobs(blobs)

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    @property
    def base(self) -> Path:
        """The folder holding the workspace: documents are keyed relative to it, so keys
        do not depend on the directory a command runs from."""
        return self.settings.workspace.resolve().parent

    def source_path(self, key: str) -> Path:
        """The file a document key names (the inverse of how ingest keys files)."""
        path = Path(key)
        return path if path.is_absolute() else self.base / path

    def remove(self, path: str) -> bool:
        return self.store.remove_document(path)

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
    ) -> list[Hit]:
        """Top-k chunks for `query`: "hybrid" (default), "bm25" or "dense"."""
        return self.retriever.search(
            query,
            k=k or self.settings.top_k,
            mode=mode or self.settings.retrieval_mode,
            path_glob=path_glob,
        )

    # --- answer ---------------------------------------------------------------------
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
    ) -> Iterator[Event]:
        """Sources, then Delta events, then Done (see ragstream.generate.events).

        `history` holds earlier turns ({"role", "content"} or (role, text)); `offline=None`
        uses an LLM when one is configured, else answers extractively.
        """
        return answer(
            question,
            history,
            settings=self.settings,
            search=self._search_with(k, mode, path_glob),
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
    ) -> str:
        """The whole prompt `ask` would send to an LLM, as text to copy; sends nothing."""
        messages, _ = prompt_messages(
            question,
            history,
            settings=self.settings,
            search=self._search_with(k, mode, path_glob),
            model=model,
        )
        return render_prompt(messages)

    def _search_with(self, k: int | None, mode: str | None, path_glob: str | None) -> Search:
        return lambda query: self.search(query, k=k, mode=mode, path_glob=path_glob)

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
            if spec == DEFAULT_EMBEDDER and meta.get("embedder_spec"):
                spec = meta["embedder_spec"]  # the index remembers what built it
            embedder = create_embedder(spec, **self._embedder_options(spec))
            if meta:
                _check_embedder(meta, embedder, self.settings)
            self._embedder = embedder
        return self._embedder

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
                {"embedder": e.name, "dim": str(e.dim), "embedder_spec": self.settings.embedder}
            )

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.store, self.embedder, create_reranker(self.settings))
        return self._retriever

    def _ingestor(self, progress: ProgressCallback | None) -> Ingestor:
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
        )


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
