"""A stand-in for the app image (the real one is tested too, once): answers / with its
version and /_stcore/health with 200 only if it can read its key file and write /data."""

import os
import signal
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


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
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
