"""The OpenAI-compatible door, /v1: any OpenAI client (Open WebUI too) sees one model.

    GET  /v1/models              -> the model "ragstream"
    POST /v1/chat/completions    -> the last user message is the question, the earlier
                                    user/assistant messages the history (system messages
                                    are ignored: RAGstream has its own instructions)

The answer text keeps its [n] markers and ends with a "Sources:" footer, so plain chat
clients show where it came from; the same sources, structured, are in the extra field
`sources` of the response (of the last chunk when streamed). Without an LLM configured
the answer is extractive, as `ragstream ask` is.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ragstream.api.errors import ApiError, library_error
from ragstream.api.rest import collect, errors, service_of
from ragstream.api.service import start_answer
from ragstream.errors import RagstreamError
from ragstream.generate.events import Delta, Done, Event, Source, Sources

router = APIRouter(prefix="/v1", tags=["openai"], responses=errors(400, 401, 404, 422, 429, 503))
MODEL_ID = "ragstream"
SNIPPET_CHARS = 300
FOOTER = "\n\nSources:\n"
_FOOTER_AT_END = re.compile(r"\n\nSources:\n(?:\[\d+\][^\n]*(?:\n|$))+\s*\Z")


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's request; sampling options are accepted and ignored (the library decides)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None


@router.get("/models")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [model_card()]}


@router.get("/models/{model}")
def model(model: str) -> dict[str, Any]:
    if model != MODEL_ID:
        raise ApiError(404, f"model {model!r} does not exist; use {MODEL_ID!r}", "model_not_found")
    return model_card()


def model_card() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "ragstream"}


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, request: Request) -> Any:
    if body.model != MODEL_ID:
        raise ApiError(
            404, f"model {body.model!r} does not exist; use {MODEL_ID!r}", "model_not_found"
        )
    question, history = split_messages(body.messages)
    head, rest = await run_in_threadpool(start_answer, service_of(request), question, history)
    events = itertools.chain(head, rest)
    reply_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if body.stream:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            stream_chunks(events, reply_id, usage),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    done, sources = await run_in_threadpool(collect, events)
    shown = cited_or_retrieved(done, sources)
    return JSONResponse(
        {
            "id": reply_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": done.answer + footer(shown)},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage_of(done),
            "sources": [source_json(x) for x in shown],
        }
    )


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """(question, history): the last user message, and the user/assistant turns before it."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None or not messages[last].text().strip():
        raise ApiError(400, "messages: no user message with text to answer")
    history = [
        {"role": m.role, "content": strip_footer(m.text())}
        for m in messages[:last]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[last].text(), history


def strip_footer(text: str) -> str:
    """Our own Sources footer, echoed back by a client as history, is not conversation."""
    return _FOOTER_AT_END.sub("", text)


def cited_or_retrieved(done: Done, sources: tuple[Source, ...]) -> tuple[Source, ...]:
    return done.citations or sources


def footer(shown: tuple[Source, ...]) -> str:
    if not shown:
        return ""
    return FOOTER + "\n".join(f"[{x.n}] {x.label}" for x in shown)


def source_json(x: Source) -> dict[str, Any]:
    snippet = x.text if len(x.text) <= SNIPPET_CHARS else x.text[:SNIPPET_CHARS].rstrip() + "…"
    return {
        "n": x.n,
        "path": x.path,
        "page": x.page,
        "title": x.title,
        "label": x.label,
        "snippet": snippet,
        "chunk_id": x.chunk_id,
        "score": x.score,
    }


def usage_of(done: Done) -> dict[str, int]:
    u = done.usage
    prompt, completion = (u.prompt_tokens, u.completion_tokens) if u else (0, 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def stream_chunks(events: Iterator[Event], reply_id: str, include_usage: bool) -> Iterator[str]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    sources: tuple[Source, ...] = ()
    try:
        for event in events:
            if isinstance(event, Sources):
                sources = event.sources
            elif isinstance(event, Delta):
                yield chunk({"content": event.text})
            elif isinstance(event, Done):
                shown = cited_or_retrieved(event, sources)
                if shown:
                    yield chunk({"content": footer(shown)})
                yield chunk({}, "stop", sources=[source_json(x) for x in shown])
                if include_usage:
                    body = {
                        "id": reply_id,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": MODEL_ID,
                        "choices": [],
                        "usage": usage_of(event),
                    }
                    yield f"data: {json.dumps(body)}\n\n"
    except RagstreamError as exc:
        err = library_error(exc)
        yield f"data: {json.dumps({'error': {'code': err.code, 'message': err.message}})}\n\n"
    yield "data: [DONE]\n\n"
