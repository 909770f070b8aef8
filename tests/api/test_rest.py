"""The REST door against a running `ragstream api`, through httpx: auth, upload, search,
ask (JSON and SSE), delete, and the error shapes."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.server import SAMPLES, ApiServer, clean_env, make_workspace
from tests.app.serve_helpers import RAGSTREAM, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(api_factory: Callable[..., ApiServer]) -> ApiServer:
    return api_factory(env={"RAGSTREAM_MAX_FILE_MB": "1"})


@pytest.fixture(scope="module")
def token(server: ApiServer) -> str:
    return server.token("rest")


def error_of(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    assert body["error"]["message"] and "Traceback" not in body["error"]["message"]
    return body["error"]


def test_health_and_schema_need_no_token(server: ApiServer) -> None:
    with server.client() as http:
        assert http.get("/api/v1/health").json()["status"] == "ok"
        schema = http.get("/api/v1/openapi.json").json()
    assert {"/api/v1/search", "/api/v1/ask", "/api/v1/documents", "/v1/chat/completions"} <= set(
        schema["paths"]
    )


def test_missing_wrong_and_revoked_tokens_are_401(server: ApiServer) -> None:
    from ragstream.api.tokens import TokenStore, tokens_file

    revoked = server.token("to-revoke")
    TokenStore(tokens_file(server.workspace)).revoke(revoked.split("_")[1])
    wrong = revoked[:-4] + "AAAA"
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": f"Bearer {wrong}"}):
        with server.client(headers=headers) as http:
            response = http.get("/api/v1/documents")
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"
    with server.client(revoked) as http:
        response = http.post("/api/v1/search", json={"query": "key"})
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_read_only_token_may_search_but_not_upload(server: ApiServer) -> None:
    reader = server.token("reader", scope="read")
    with server.client(reader) as http:
        assert http.post("/api/v1/search", json={"query": "key"}).status_code == 200
        response = http.post(
            "/api/v1/documents", files={"file": ("a.txt", b"hello there", "text/plain")}
        )
        assert response.status_code == 403
        assert "read-only" in error_of(response)["message"]
        assert http.delete("/api/v1/documents/faq.md").status_code == 403


def test_search_returns_ranked_passages_with_filters(server: ApiServer, token: str) -> None:
    with server.client(token) as http:
        hits = http.post("/api/v1/search", json={"query": "rotate the OpenAI key", "k": 3}).json()
        assert len(hits["hits"]) == 3
        assert hits["hits"][0]["path"].endswith("data-retention-policy.docx")
        only_pdf = http.post(
            "/api/v1/search", json={"query": "release", "k": 5, "mode": "bm25", "path": "*.pdf"}
        ).json()["hits"]
        assert only_pdf and all(h["path"].endswith(".pdf") for h in only_pdf)
        # `curl -d` sends JSON labelled as a form: still read as JSON
        raw = http.post(
            "/api/v1/search",
            content=b'{"query": "rollback", "k": 1}',
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert raw.status_code == 200 and len(raw.json()["hits"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "k": "many"}, "k"),
        ({"query": "x", "k": "5"}, "k"),  # strict: no guessing at types
        ({"query": "x", "mode": "magic"}, "mode"),
        ({"query": "x", "colour": "red"}, "colour"),
        ({}, "query"),
    ],
)
def test_bad_search_bodies_are_422_naming_the_field(
    server: ApiServer, token: str, body: dict[str, object], field: str
) -> None:
    with server.client(token) as http:
        response = http.post("/api/v1/search", json=body)
    assert response.status_code == 422
    assert field in error_of(response)["message"]


def test_not_json_is_422_and_unknown_path_404(server: ApiServer, token: str) -> None:
    with server.client(token) as http:
        response = http.post("/api/v1/search", content=b"{not json")
        assert response.status_code == 422 and error_of(response)["code"] == "invalid_request"
        assert http.get("/api/v1/nothing").status_code == 404
        assert http.put("/api/v1/search").status_code == 405


def test_ask_json_answers_offline_with_citations(server: ApiServer, token: str) -> None:
    with server.client(token) as http:
        body = http.post(
            "/api/v1/ask",
            json={
                "question": "How do I roll back a release?",
                "history": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "Hello."},
                ],
                "offline": False,  # "use the LLM if there is one": there is none here
            },
        ).json()
    assert body["offline"] is True
    assert "rollback" in body["answer"]
    assert body["citations"] and all(f"[{c['n']}]" in body["answer"] for c in body["citations"])


def test_ask_streams_sources_then_deltas_then_done(server: ApiServer, token: str) -> None:
    events = []
    with (
        server.client(token) as http,
        http.stream(
            "POST",
            "/api/v1/ask",
            json={"question": "How long are logs kept?"},
            headers={"accept": "text/event-stream"},
        ) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"delta"}
    done = events[-1][1]
    assert done["answer"] == "".join(d["text"] for k, d in events if k == "delta")
    assert events[0][1]["sources"][0]["label"]


def test_upload_pdf_docx_and_bad_files_reports_each(
    server: ApiServer, token: str, tmp_path: Path
) -> None:
    pdf = (SAMPLES / "deployment-runbook.pdf").read_bytes()
    docx = (SAMPLES / "data-retention-policy.docx").read_bytes()
    files = [
        ("file", ("runbook copy.pdf", pdf, "application/pdf")),
        ("file", ("policy-copy.docx", docx, "application/octet-stream")),
        ("file", ("broken.pdf", b"%PDF-1.7 this is not a pdf", "application/pdf")),
        ("file", ("tool.exe", b"MZ\x90\x00", "application/octet-stream")),
        ("file", ("empty.txt", b"", "text/plain")),
        ("file", ("big.txt", b"word " * 300_000, "text/plain")),
    ]
    with server.client(token) as http:
        response = http.post("/api/v1/documents", files=files)
        assert response.status_code == 200, response.text
        assert [r["name"] for r in response.json()["files"]] == [f[1][0] for f in files]
        rows = {r["name"]: r for r in response.json()["files"]}
        assert rows["runbook copy.pdf"]["status"] == "ingested"
        assert rows["policy-copy.docx"]["status"] == "ingested"
        assert rows["broken.pdf"]["status"] == "failed" and rows["broken.pdf"]["reason"]
        assert "not supported" in rows["tool.exe"]["reason"]
        assert "empty" in rows["empty.txt"]["reason"]
        assert "limit" in rows["big.txt"]["reason"]
        listed = {d["path"] for d in http.get("/api/v1/documents").json()["documents"]}
        assert rows["policy-copy.docx"]["path"] in listed
        assert not any("broken" in p for p in listed)

        key = rows["runbook copy.pdf"]["path"]
        assert http.delete(f"/api/v1/documents/{key}").json() == {"deleted": key}
        assert http.delete(f"/api/v1/documents/{key}").status_code == 404
        listed = {d["path"] for d in http.get("/api/v1/documents").json()["documents"]}
        assert key not in listed
    assert not (server.workspace / "uploads" / "runbook copy.pdf").exists()


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("tool.exe", b"MZ", 415),
        ("big.txt", b"x" * 1_100_000, 413),
        ("empty.md", b"", 400),
    ],
)
def test_upload_of_only_refused_files_has_the_matching_status(
    server: ApiServer, token: str, name: str, data: bytes, status: int
) -> None:
    with server.client(token) as http:
        response = http.post("/api/v1/documents", files={"file": (name, data)})
    assert response.status_code == status
    assert name in error_of(response)["message"]


def test_upload_without_multipart_or_files(server: ApiServer, token: str) -> None:
    with server.client(token) as http:
        assert http.post("/api/v1/documents", json={"file": "x"}).status_code == 415
        response = http.post("/api/v1/documents", files={"note": (None, b"no file")})
        assert response.status_code == 400
        too_big = http.post(
            "/api/v1/documents",
            files={"file": ("huge.txt", b"x" * 7_000_000)},
        )
        assert too_big.status_code == 413 and "limit" in error_of(too_big)["message"]

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="h.txt"\r\n\r\n'
            for _ in range(70):
                yield b"x" * 100_000
            yield b"\r\n--b--\r\n"

        streamed = http.post(
            "/api/v1/documents",
            content=chunked(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413 and "limit" in error_of(streamed)["message"]


def test_search_keeps_answering_while_an_upload_ingests(server: ApiServer, token: str) -> None:
    big = "\n\n".join(
        f"Paragraph {i}: the maintenance window for system {i} is on day {i % 7}." * 3
        for i in range(400)
    ).encode()  # ~100 chunks: seconds of embedding on this machine
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            with server.client(token, timeout=600) as http:
                r = http.post("/api/v1/documents", files={"file": ("maintenance.txt", big)})
                outcome["status"] = r.status_code
        except Exception as exc:  # reported by the assertion below
            outcome["status"] = repr(exc)

    thread = threading.Thread(target=upload)
    thread.start()
    latencies = []
    with server.client(token) as http:
        while thread.is_alive():
            start = time.perf_counter()
            r = http.post("/api/v1/search", json={"query": "rotate the key", "k": 3})
            latencies.append(time.perf_counter() - start)
            assert r.status_code == 200
    thread.join()
    assert outcome["status"] == 200
    assert len(latencies) >= 3, "the upload finished before searches could overlap it"
    assert sorted(latencies)[len(latencies) // 2] < 2.0


def test_refuses_a_public_bind_without_tokens(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    result = subprocess.run(
        [*RAGSTREAM, "api", "--host", "0.0.0.0", "--port", str(free_port()), "-w", str(workspace)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "refusing to serve the API on 0.0.0.0 without tokens" in result.stderr


def test_failed_tokens_are_rate_limited(api_factory: Callable[..., ApiServer]) -> None:
    server = api_factory()
    good = server.token("good")
    with server.client("rst_00000000_" + "x" * 43) as http:
        statuses = [http.get("/api/v1/documents").status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    with server.client(good) as http:
        blocked = http.get("/api/v1/documents")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert error_of(blocked)["code"] == "rate_limited"
    # Behind a reverse proxy on loopback (the host's Caddy) clients are told apart by
    # X-Forwarded-For (uvicorn trusts it from 127.0.0.1): one client's failures do not
    # lock out the others.
    with server.client(good, headers={"x-forwarded-for": "203.0.113.7"}) as http:
        assert http.get("/api/v1/documents").status_code == 200


def test_two_uploads_at_once_both_land(server: ApiServer, token: str) -> None:
    statuses: dict[str, object] = {}

    def upload(name: str) -> None:
        body = "\n\n".join(f"{name} section {i}: notes about {name}." for i in range(40))
        try:
            with server.client(token, timeout=600) as http:
                r = http.post("/api/v1/documents", files={"file": (name, body.encode())})
                statuses[name] = r.json()["files"][0]["status"] if r.status_code == 200 else r.text
        except Exception as exc:  # reported by the assertion below
            statuses[name] = repr(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in ("alpha.md", "beta.md")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == {"alpha.md": "ingested", "beta.md": "ingested"}
    with server.client(token) as http:
        listed = {d["path"] for d in http.get("/api/v1/documents").json()["documents"]}
    assert {".ragstream/uploads/alpha.md", ".ragstream/uploads/beta.md"} <= listed
