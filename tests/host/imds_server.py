"""A loopback stand-in for EC2's instance metadata service, speaking the two IMDSv2 calls
the agent makes: PUT /latest/api/token (TTL header required), then GET with the token."""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ImdsServer:
    def __init__(self, public_ipv4: str | None = "203.0.113.10") -> None:
        self.public_ipv4 = public_ipv4
        self.tokens: set[str] = set()
        self.requests: list[str] = []  # "PUT /latest/api/token", "GET ... 401", ...
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ImdsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, code: int, body: str = "") -> None:
                imds.requests.append(f"{self.command} {self.path} {code}")
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
                if self.path != "/latest/api/token" or not ttl.isdigit():
                    self._reply(400)
                    return
                token = secrets.token_urlsafe(16)
                imds.tokens.add(token)
                self._reply(200, token)

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") not in imds.tokens:
                    self._reply(401)  # IMDSv2 only: no token, no answer
                elif self.path == "/latest/meta-data/public-ipv4" and imds.public_ipv4:
                    self._reply(200, imds.public_ipv4)
                else:
                    self._reply(404)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
