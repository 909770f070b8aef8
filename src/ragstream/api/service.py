"""What the three doors share: one Workspace per process and the rules for writing to it.

Searches and answers run concurrently (the store reads through WAL / its own pool);
writes (uploads, deletes) take one lock so two uploads take turns, never the searches.
An upload is checked and saved exactly like the page's (ragstream.uploads), then
ingested, and reported per file.

Every call names its `Caller`: the user a token belongs to (None: an admin token, or the
open loopback mode) and the collections that token may read, so the same rules
(ragstream.access) decide what each door shows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ragstream import uploads
from ragstream.access import Identity, actor, narrow
from ragstream.api.tokens import TokenRecord
from ragstream.config import Settings
from ragstream.errors import AccessDenied, RagstreamError
from ragstream.generate.events import Event
from ragstream.generate.llm import llm_configured
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES
from ragstream.ingest.pipeline import DEFAULT_COLLECTION
from ragstream.models import Chunk, DocumentRecord, Hit
from ragstream.queue import intake
from ragstream.workspace import Workspace

MAX_FILES_PER_UPLOAD = 100


@dataclass(frozen=True)
class UploadResult:
    """One uploaded file's outcome; `status_code` says why it was refused, if it was."""

    name: str
    status: str  # ingested, unchanged, skipped, failed; queued (a fleet's workers index it)
    reason: str = ""
    n_chunks: int = 0
    path: str = ""  # the document key (for delete / search filters)
    status_code: int = 200


def refusal_status(name: str, size: int, max_bytes: int) -> int:
    """415 for a type we do not read, 413 over the size limit, else 400."""
    if PurePath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return 415
    return 413 if size > max_bytes else 400


@dataclass(frozen=True)
class Caller:
    """Who a request acts as: `user` (None: admin) limited to `collections` (None: all
    they may read)."""

    user: Identity | None = None
    collections: list[str] | None = None

    def within(self, asked: str | None) -> list[str] | None:
        """The collections a read runs on: the one asked for (refused outside the token's
        scope, like a missing one), else the whole scope."""
        return narrow(self.collections, None if asked is None else [asked])

    def may_touch(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections


ADMIN = Caller()


class Service:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.write_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def llm(self) -> bool:
        return llm_configured(self.settings)

    def warm_up(self) -> None:
        """Load the models and the index now, so the first request does not pay."""
        self.workspace.warm_up()

    def caller(self, token: TokenRecord | None) -> Caller:
        """What this token may do, read from the store now (a grant or revoke applies at
        the next request); no token (open loopback mode) or a token without a user is
        the admin."""
        if token is None or (token.user is None and token.collections is None):
            return ADMIN
        accounts = self.workspace.accounts
        user = None if token.user is None else accounts.identity(token.user)
        return Caller(user, accounts.scoped(user, token.collections))

    # --- reads -----------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int,
        mode: str | None,
        path_glob: str | None,
        caller: Caller = ADMIN,
        collection: str | None = None,
    ) -> list[Hit]:
        return self.workspace.search(
            query,
            k=k,
            mode=mode,
            path_glob=path_glob,
            user=caller.user,
            collections=caller.within(collection),
        )

    def ask(
        self,
        question: str,
        history: Sequence[Any],
        caller: Caller = ADMIN,
        collection: str | None = None,
        **options: Any,
    ) -> Iterator[Event]:
        # Issue 13 keeps this shape (Workspace.ask -> Iterator[Event]); only the options move.
        return iter(
            self.workspace.ask(
                question,
                history=history,
                user=caller.user,
                collections=caller.within(collection),
                **options,
            )
        )

    def documents(self, caller: Caller = ADMIN) -> list[DocumentRecord]:
        found = self.workspace.documents(user=caller.user, collections=caller.collections)
        return sorted(found, key=lambda d: d.path)

    def passage(self, chunk_id: str, caller: Caller = ADMIN) -> Chunk | None:
        """The chunk when the caller may read its document; None as for a missing id."""
        chunk = self.workspace.chunk(chunk_id, user=caller.user)
        if chunk is None or self._readable(chunk.path, caller) is None:
            return None
        return chunk

    def _readable(self, path: str, caller: Caller) -> DocumentRecord | None:
        doc = self.workspace.document(path, user=caller.user)
        return doc if doc is not None and caller.may_touch(doc.collection) else None

    def count_chunks(self) -> int:
        return self.workspace.store.count_chunks()

    # --- writes ----------------------------------------------------------------------
    def upload(
        self,
        files: Sequence[tuple[str, bytes]],
        caller: Caller = ADMIN,
        collection: str = DEFAULT_COLLECTION,
    ) -> list[UploadResult]:
        """Save every acceptable file, ingest them together into `collection` (the caller
        must be its editor); one result per file, in the order sent."""
        settings = self.settings
        if not caller.may_touch(collection):
            raise AccessDenied(f"this token may not change collection {collection}")
        self.workspace.accounts.require(caller.user, "write", collection)
        if intake.queues_uploads(settings):  # a fleet: the workers embed
            return self._enqueue(files, collection, actor(caller.user))
        target = uploads.uploads_dir(settings)
        results: list[tuple[int, UploadResult]] = []
        saved: dict[str, tuple[int, str]] = {}  # saved path -> (position, name as sent)
        for position, (name, data) in enumerate(files):
            try:
                path = uploads.save_upload(target, name, data, settings.max_file_bytes)
            except RagstreamError as exc:
                code = refusal_status(name, len(data), settings.max_file_bytes)
                reason = str(exc).split(": ", 1)[-1]
                results.append((position, UploadResult(name, "failed", reason, status_code=code)))
                continue
            saved[str(path.resolve())] = (position, name)
        if saved:
            with self.write_lock:
                report = self.workspace.ingest(
                    [Path(p) for p in saved], collection=collection, user=caller.user
                )
            for row in report.files:
                source = self.workspace.source_path(row.path)
                position, name = saved.get(str(source.resolve()), (len(files), row.path))
                if row.status == "failed":
                    uploads.discard_upload(settings, source)
                code = 400 if row.status == "failed" else 200
                result = UploadResult(name, row.status, row.reason, row.n_chunks, row.path, code)
                results.append((position, result))
        return [result for _, result in sorted(results, key=lambda pair: pair[0])]

    def _enqueue(
        self, files: Sequence[tuple[str, bytes]], collection: str, queued_by: str
    ) -> list[UploadResult]:
        _ = self.workspace.store  # migrations: the job table exists before the first job
        rows = intake.enqueue_uploads(
            self.settings, self.workspace.base, files, collection=collection, queued_by=queued_by
        )
        return [
            UploadResult(name, r.status, r.reason, 0, r.path if r.status == "queued" else "",
                         200 if r.status == "queued"
                         else refusal_status(name, len(data), self.settings.max_file_bytes))
            for r, (name, data) in zip(rows, files, strict=True)
        ]  # fmt: skip

    def remove(self, path: str, caller: Caller = ADMIN) -> bool:
        """False when there is no such document the caller may change (a guessed path
        learns nothing)."""
        if caller != ADMIN and self._readable(path, caller) is None:
            return False
        with self.write_lock:
            removed = self.workspace.remove(path, user=caller.user)
        if removed:
            uploads.discard_upload(self.settings, self.workspace.source_path(path))
        return removed

    def close(self) -> None:
        self.workspace.close()


def start_answer(
    service: Service,
    question: str,
    history: Sequence[Any],
    caller: Caller = ADMIN,
    collection: str | None = None,
    **options: Any,
) -> tuple[list[Event], Iterator[Event]]:
    """Run the answer up to its first text, so a failing LLM is still a status code.

    Returns the events so far (Sources, the first Delta or Done) and the rest of the
    stream; a RagstreamError before the first text propagates to the caller.
    """
    events = service.ask(question, history, caller, collection, **options)
    head: list[Event] = []
    for event in events:
        head.append(event)
        if event.kind != "sources":
            break
    return head, events
