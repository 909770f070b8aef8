"""A loopback server that speaks OpenAI's Chat Completions API, streaming included.

It sends exactly what api.openai.com sends: `data: {chunk json}` events over chunked
HTTP/1.1, a final usage chunk when `stream_options.include_usage` is set, then
`data: [DONE]`; errors as `{"error": {...}}` bodies with the real status codes. Tests
script replies in order (`server.script(...)`); each request is recorded with its
arrival time (`time.perf_counter`, so the bench can time the client side).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TEXT = ["The start script ", "removes the old container [1]", " and starts a new one [2]."]


@dataclass
class Reply:
    """One scripted reply. `pieces` are the content deltas; `raw` replaces the events."""

    status: int = 200
    pieces: list[str] = field(default_factory=lambda: list(DEFAULT_TEXT))
    raw: list[str] | None = None  # SSE `data:` payloads sent as they are (malformed tests)
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the response starts
    piece_delay: float = 0.0  # between events
    usage: tuple[int, int] = (42, 7)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    arrived: float  # time.perf_counter() when the request line was read


def chunk_event(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_loopback",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


def stream_events(reply: Reply, body: dict[str, Any]) -> Iterator[str]:
    model = body.get("model", "gpt-4o-mini")
    yield json.dumps(chunk_event(model, {"role": "assistant", "content": "", "refusal": None}))
    for piece in reply.pieces:
        yield json.dumps(chunk_event(model, {"content": piece}))
    yield json.dumps(chunk_event(model, {}, finish="stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        prompt, completion = reply.usage
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        usage["total_tokens"] = prompt + completion
        yield json.dumps({**chunk_event(model, {}), "choices": [], "usage": usage})
    yield "[DONE]"


def completion(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    prompt, completion_tokens = reply.usage
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "gpt-4o-mini"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(reply.pieces)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
        },
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ChatServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client hung up
            super().handle()

    def do_POST(self) -> None:
        arrived = time.perf_counter()
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.record(Request(self.path, headers, body, arrived))
        reply = self.server.next_reply()
        try:
            time.sleep(reply.delay)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(
                    404,
                    {
                        "error": {
                            "message": f"no route {self.path}",
                            "type": "invalid_request_error",
                        }
                    },
                )
            elif reply.status != 200:
                self._json(
                    reply.status,
                    {"error": reply.error or {"message": "error", "type": "server_error"}},
                    reply.headers,
                )
            elif body.get("stream"):
                self._stream(reply, body)
            else:
                self._json(200, completion(reply, body), reply.headers)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for payload in reply.raw if reply.raw is not None else stream_events(reply, body):
            self._chunk(f"data: {payload}\n\n".encode())
            time.sleep(reply.piece_delay)
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self._lock = threading.Lock()
        self._script: list[Reply] = []
        self.requests: list[Request] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """Serve these replies in order, then the default reply; forget earlier requests."""
        with self._lock:
            self._script = list(replies)
            self.requests = []

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.pop(0) if self._script else Reply()

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def start_server() -> ChatServer:
    server = ChatServer()
    threading.Thread(target=server.serve_forever, name="chat-server", daemon=True).start()
    return server
