"""A small real web site on 127.0.0.1 for the web source tests (http.server in a thread).

Pages are in `site.pages` (path -> (content type, body)) and may be changed by a test;
ETag and Last-Modified are honoured (304); the log records (path, conditional?, time).
Special paths: /loop (redirect loop), /slow.html (answers after `slow_seconds`),
/huge.html (streams `huge_bytes` with no Content-Length), /error.html (500),
/to-ftp (redirect to ftp://), /to-localhost (redirect to localhost by name).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)


def html(title: str, body: str, links: list[str] = ()) -> tuple[str, bytes]:  # type: ignore[assignment]
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p><ul>{anchors}</ul></body></html>"
    return "text/html; charset=utf-8", page.encode()


def default_pages() -> dict[str, tuple[str, bytes]]:
    return {
        "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/index.html": html(
            "Lighthouse keepers",
            "The keeper trims the lamp wick every evening.",
            [
                "a.html",
                "/b.html#top",
                "/private/secret.html",
                "http://elsewhere.invalid/x.html",
                "/loop",
                "/image.png",
                "/missing.html",
                "/error.html",
                "mailto:x@example.com",
                "/deep.html",
            ],
        ),
        "/a.html": html("Fog signals", "Foghorns sound every thirty seconds in dense fog."),
        "/b.html": html("Lens types", "A Fresnel lens focuses the beam into a narrow ray."),
        "/deep.html": html("Deeper", "One level down.", ["/deeper.html"]),
        "/deeper.html": html("Deepest", "Two levels down: the cellar holds lamp oil."),
        "/private/secret.html": html("Secret", "Robots must not read this."),
        "/image.png": ("image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
        "/notes.txt": ("text/plain; charset=utf-8", b"Plain text notes about tides and moons."),
    }


@dataclass
class Site:
    url: str = ""
    pages: dict[str, tuple[str, bytes]] = field(default_factory=default_pages)
    log: list[tuple[str, bool, float]] = field(default_factory=list)
    slow_seconds: float = 3.0
    huge_bytes: int = 400_000

    def hits(self, path: str) -> list[bool]:
        """For each request of `path`: whether it was conditional."""
        return [conditional for p, conditional, _ in self.log if p == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            conditional = bool(
                self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
            )
            site.log.append((path, conditional, time.monotonic()))
            if path == "/loop":
                return self._redirect("/loop2")
            if path == "/loop2":
                return self._redirect("/loop")
            if path == "/to-ftp":
                return self._redirect("ftp://127.0.0.1/file.txt")
            if path == "/to-localhost":
                return self._redirect(site.url.replace("127.0.0.1", "localhost") + "/a.html")
            if path == "/error.html":
                return self._send(500, "text/plain", b"boom")
            if path == "/slow.html":
                time.sleep(site.slow_seconds)
                return self._send(200, *html("Slow", "Finally."))
            if path == "/huge.html":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                for _ in range(site.huge_bytes // 10_000):
                    self.wfile.write(b"<p>" + b"x" * 9_993 + b"</p>")
                return None
            if path not in site.pages:
                return self._send(404, "text/plain", b"not found")
            ctype, body = site.pages[path]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if path == "/b.html":  # validated by date only
                if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                    return self._send(304, ctype, b"")
                return self._send(200, ctype, body, {"Last-Modified": LAST_MODIFIED})
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, ctype, b"", {"ETag": etag})
            return self._send(200, ctype, body, {"ETag": etag})

        def _redirect(self, location: str) -> None:
            self._send(302, "text/plain", b"", {"Location": location})

        def _send(
            self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    return Handler


@contextmanager
def serve_site() -> Iterator[Site]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
