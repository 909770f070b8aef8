"""The REST door, /api/v1: documents (upload, list, delete), search, ask, health.

Handlers are thin: validate (schemas.py), call the Service in a worker thread, shape
the result. `ask` streams Server-Sent Events (`sources`, `delta`, `done`, or `error`)
with `"stream": true` or `Accept: text/event-stream`, else returns one JSON object.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from ragstream.api import schemas as s
from ragstream.api.errors import ApiError, error_body, library_error
from ragstream.api.service import MAX_FILES_PER_UPLOAD, Caller, Service, start_answer
from ragstream.errors import RagstreamError
from ragstream.generate.events import Delta, Done, Event, Source, Sources
from ragstream.ingest.pipeline import DEFAULT_COLLECTION
from ragstream.uploads import ACCEPTED

router = APIRouter(prefix="/api/v1")
ERROR_TEXTS = {
    400: "Bad input",
    401: "No, wrong or revoked token",
    403: "Read-only token, a collection the token may not use, or a non-loopback Host",
    404: "No such document (or model)",
    413: "Too large",
    415: "Unsupported type",
    422: "Invalid body (names the field)",
    429: "Too many failed tokens",
    503: "LLM or store unreachable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these statuses, all with the one error body."""
    return {c: {"description": ERROR_TEXTS[c], "model": s.ErrorResponse} for c in codes}


ERRORS = errors(400, 401, 403, 422, 429, 503)  # 400: a body that is not even text
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"One or more documents: {ACCEPTED}.",
                        },
                        "collection": {
                            "type": "string",
                            "description": "The collection to add them to (default: default); "
                            "the token's user must be its editor.",
                        },
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def caller_of(request: Request) -> Caller:
    """Who the request's token acts as (blocking: reads the memberships; call from a
    worker thread)."""
    return service_of(request).caller(getattr(request.state, "token", None))


@router.get("/health", response_model=s.Health, tags=["meta"])
def health() -> s.Health:
    """Liveness: answers without a token."""
    return s.Health(status="ok", version=version("ragstream"))


@router.get("/documents", response_model=s.DocumentList, responses=ERRORS, tags=["documents"])
def list_documents(request: Request) -> s.DocumentList:
    docs = service_of(request).documents(caller_of(request))
    return s.DocumentList(documents=[s.DocumentOut.of(d) for d in docs])


@router.post(
    "/documents",
    response_model=s.UploadResponse,
    openapi_extra=UPLOAD_BODY,
    responses=errors(400, 401, 403, 413, 415, 422, 429, 503),  # 415 also: only unreadable types
    tags=["documents"],
)
async def upload(request: Request) -> s.UploadResponse:
    """Upload and ingest documents (multipart field `file`, repeatable); one result per file.

    Files are checked like the page's uploads (type, size, empty); a refused or unreadable
    file is reported with its reason and never stops the others. When every file is
    refused the status says why: 415 type, 413 size, 400 otherwise.
    """
    service = service_of(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "send the files as multipart/form-data, e.g. curl -F file=@a.pdf")
    try:
        form = await request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=MAX_FILES_PER_UPLOAD)
    except MultiPartException as exc:
        raise ApiError(400, f"multipart body: {exc.message}") from None
    files = []
    collection = DEFAULT_COLLECTION
    try:
        for field, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append((value.filename or field, await value.read()))
            elif field == "collection" and value.strip():
                collection = value.strip()
    finally:
        await form.close()
    if not files:
        raise ApiError(400, "no files in the form: send them as field `file`")
    caller = await run_in_threadpool(caller_of, request)
    results = await run_in_threadpool(service.upload, files, caller, collection)
    rows = [
        s.UploadFileResult(
            name=r.name, status=r.status, reason=r.reason, n_chunks=r.n_chunks, path=r.path
        )
        for r in results
    ]
    if all(r.status == "failed" for r in results):
        message = "; ".join(f"{r.name}: {r.reason}" for r in results)
        raise ApiError(results[0].status_code, message, files=[r.model_dump() for r in rows])
    return s.UploadResponse(files=rows)


@router.delete(
    "/documents/{path:path}",
    response_model=s.Deleted,
    responses={**ERRORS, **errors(404)},
    tags=["documents"],
)
def delete_document(path: str, request: Request) -> s.Deleted:
    """Remove a document (by its key, as listed) from the index, and its uploaded copy."""
    if not service_of(request).remove(path, caller_of(request)):
        raise ApiError(404, f"no document {path!r} (see GET /api/v1/documents)")
    return s.Deleted(deleted=path)


@router.post("/search", response_model=s.SearchResponse, responses=ERRORS, tags=["retrieve"])
def search(body: s.SearchRequest, request: Request) -> s.SearchResponse:
    caller = caller_of(request)
    hits = service_of(request).search(
        body.query, body.k, body.mode, body.path, caller, body.collection
    )
    return s.SearchResponse(query=body.query, hits=[s.HitOut.of(h) for h in hits])


@router.post(
    "/ask",
    response_model=s.AskResponse,
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
    tags=["answer"],
)
async def ask(body: s.AskRequest, request: Request) -> Any:
    """Answer with [n] citations; JSON, or SSE events sources -> delta* -> done."""
    service = service_of(request)
    history = [t.model_dump() for t in body.history]
    caller = await run_in_threadpool(caller_of, request)
    head, rest = await run_in_threadpool(
        start_answer, service, body.question, history, caller, body.collection, **body.options()
    )
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            sse(itertools.chain(head, rest)),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    done, sources = await run_in_threadpool(collect, itertools.chain(head, rest))
    return JSONResponse(s.AskResponse.of(done, sources).model_dump())


def collect(events: Iterator[Event]) -> tuple[Done, tuple[Source, ...]]:
    sources: tuple[Source, ...] = ()
    for event in events:
        if isinstance(event, Sources):
            sources = event.sources
        elif isinstance(event, Done):
            return event, sources
    raise RagstreamError("the answer stream ended without a result")


def sse(events: Iterator[Event]) -> Iterator[str]:
    """The library's events as SSE; an error after the first byte is an `error` event."""
    sources: tuple[Source, ...] = ()
    try:
        for event in events:
            if isinstance(event, Sources):
                sources = event.sources
                data: Any = {
                    "query": event.query,
                    "sources": [s.SourceOut.of(x).model_dump() for x in sources],
                }
            elif isinstance(event, Delta):
                data = {"text": event.text}
            else:
                data = s.AskResponse.of(event, sources).model_dump()
            yield f"event: {event.kind}\ndata: {json.dumps(data)}\n\n"
    except RagstreamError as exc:
        err = library_error(exc)
        yield f"event: error\ndata: {json.dumps(error_body(err.status, err.code, err.message))}\n\n"
