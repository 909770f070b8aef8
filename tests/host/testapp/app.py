"""A stand-in for the app image (the real one is tested too, once): answers / with its
version and /_stcore/health with 200 only if it can read its key file and write /data;
/ws is a WebSocket echo (like Streamlit's /_stcore/stream, a session that must outlive a
release), written against RFC 6455 with the standard library only."""

import base64
import hashlib
import os
import signal
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def healthy() -> bool:
    if os.environ.get("APP_HEALTHY") != "1":
        return False
    key_file = os.environ.get("OPENAI_API_KEY_FILE")
    try:
        with open(key_file) as handle:  # type: ignore[arg-type]
            key_ok = bool(handle.read().strip())
    except (OSError, TypeError):
        key_ok = False
    return key_ok and os.access("/data", os.W_OK)


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_frame(rfile) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    head = rfile.read(2)
    if len(head) < 2:
        return 8, b""
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        (length,) = struct.unpack(">H", rfile.read(2))
    elif length == 127:
        (length,) = struct.unpack(">Q", rfile.read(8))
    mask = rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = rfile.read(length)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def frame(opcode: int, data: bytes) -> bytes:
    size = len(data)
    head = (
        struct.pack(">BB", 0x80 | opcode, size)
        if size < 126
        else struct.pack(">BBH", 0x80 | opcode, 126, size)
    )
    return head + data


class Handler(BaseHTTPRequestHandler):
    def websocket(self) -> None:
        self.protocol_version = "HTTP/1.1"  # a 101 must say 1.1; plain requests stay 1.0
        key = self.headers["Sec-WebSocket-Key"] + WS_GUID
        accept = base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            opcode, data = read_frame(self.rfile)
            if opcode == 8:
                self.wfile.write(frame(8, b""))
                break
            if opcode == 9:
                self.wfile.write(frame(10, data))
            elif opcode in (1, 2):
                self.wfile.write(
                    frame(opcode, os.environ.get("APP_VERSION", "?").encode() + b":" + data)
                )
            self.wfile.flush()
        self.close_connection = True

    def do_GET(self) -> None:
        if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self.websocket()
            return
        if self.path == "/_stcore/health":
            code, body = (200, "ok") if healthy() else (503, "unhealthy")
        else:
            code, body = 200, os.environ.get("APP_VERSION", "?")
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


# As PID 1, Python ignores SIGTERM unless asked: exit on `docker stop` like a real app.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer(("0.0.0.0", 8501), Handler).serve_forever()
