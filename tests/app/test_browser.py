"""The app in a real browser: Debian's Chromium driven by Playwright against
`ragstream serve` on loopback (never `playwright install`: it would download)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.serve_helpers import serving
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TIMEOUT_MS = 90_000  # the first ingest loads the embedder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"
    ),
]

pw = pytest.importorskip("playwright.sync_api")


def make_pdf(path: Path) -> Path:
    """A two-page handbook; the fact asked about is on page 2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pages = [
        "Welcome to the operations handbook. This handbook describes the daily routine "
        "of the platform team. Backups run every night at two o'clock.",
        "Key rotation. The API key is rotated every 90 days by the operator on duty. "
        "Each rotation is written into the change calendar.",
    ]
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with pw.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        yield context
        context.close()


def test_upload_pdf_ask_and_open_the_cited_passage(browser_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = make_pdf(tmp_path / "handbook.pdf")
    with serving(tmp_path / "ws", cwd=tmp_path) as (url, _process):
        page = browser_context.new_page()
        page.goto(url)
        page.get_by_text("Ask your documents", exact=True).wait_for()
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(pdf))
        page.get_by_text(re.compile(r"handbook\.pdf.*ingested")).wait_for()
        sidebar = page.get_by_test_id("stSidebar")
        row = sidebar.locator("table tr", has_text="handbook.pdf")
        row.wait_for()  # the documents list: name, pages, chunks, when
        assert row.locator("td").nth(1).inner_text().strip() == "2"

        chat = page.get_by_test_id("stChatInputTextArea")
        chat.fill("How often is the API key rotated?")
        chat.press("Enter")
        answer = page.get_by_test_id("stChatMessage").filter(has_text="90 days")
        answer.wait_for()
        citation = page.get_by_role("button", name=re.compile(r"\[\d\] handbook\.pdf p\.2"))
        citation.first.wait_for()

        citation.first.click()
        mark = page.locator(".ragstream-passage mark")
        mark.first.wait_for()
        assert "rotated every 90 days" in mark.first.inner_text()
        assert page.get_by_text("page 2", exact=True).is_visible()
        page_view = page.get_by_test_id("stImage").filter(has_text="cited sentences are marked")
        page_view.wait_for()  # the PDF page itself, rendered with the quote marked
        assert page_view.locator("img").bounding_box()["width"] > 200
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
        page.close()


def test_password_gate_blocks_an_unauthenticated_chat(browser_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"RAGSTREAM_PASSWORD": "open sesame"}
    with serving(tmp_path / "ws", env=env, cwd=tmp_path) as (url, _process):
        page = browser_context.new_page()
        page.goto(url)
        password = page.get_by_label("Password", exact=True)
        password.wait_for()
        assert page.get_by_test_id("stChatInput").count() == 0
        assert page.get_by_test_id("stFileUploader").count() == 0
        password.fill("guess")
        page.get_by_role("button", name="Enter").click()
        page.get_by_text("Wrong password.").wait_for()
        assert page.get_by_test_id("stChatInput").count() == 0

        assert page.url.startswith(f"{url}/login")  # the gateway's page, not Streamlit's
        password.fill("open sesame")
        page.get_by_role("button", name="Enter").click()
        page.get_by_test_id("stChatInput").wait_for()
        chat = page.get_by_test_id("stChatInputTextArea")
        chat.fill("Anything in there?")
        chat.press("Enter")
        page.get_by_test_id("stChatMessage").nth(1).wait_for()  # the websocket works
        page.get_by_text("Log out").click()
        page.wait_for_url(f"{url}/login*")
        page.goto(url)
        page.get_by_label("Password", exact=True).wait_for()  # the session is over
        page.close()


def idle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script run finished (Streamlit's running indicator is gone)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")


def in_viewport(page, locator) -> bool:  # type: ignore[no-untyped-def]
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 50) <= height


def test_citation_clicked_deep_in_a_long_chat_shows_the_passage_in_view(  # type: ignore[no-untyped-def]
    browser_context, tmp_path: Path
) -> None:
    doc = tmp_path / "runbook.md"
    facts = [
        f"## Step {n}\n\nThe step {n} check runs {n * 3} minutes after the deploy.\n"
        for n in range(1, 11)
    ]
    doc.write_text("# Runbook\n\n" + "\n".join(facts))
    with serving(tmp_path / "ws", cwd=tmp_path) as (url, _process):
        page = browser_context.new_page()
        page.goto(url)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(doc))
        page.get_by_text(re.compile(r"runbook\.md.*ingested")).wait_for()
        chat = page.get_by_test_id("stChatInputTextArea")
        for n in range(1, 11):
            question = f"When does the step {n} check run?"
            for _attempt in range(3):  # a keypress landing mid-rerun can be dropped: retype
                chat.fill(question)
                chat.press("Enter")
                try:
                    page.get_by_test_id("stChatMessage").filter(has_text=question).wait_for(
                        timeout=20_000
                    )
                    break
                except pw.TimeoutError:
                    continue
            answer = page.get_by_test_id("stChatMessage").nth(2 * n - 1)
            # its citation buttons are drawn last: the answer is complete, the run over
            answer.get_by_role("button", name=re.compile(r"^\[1\] runbook\.md")).wait_for()
            idle(page)
        last = page.get_by_test_id("stChatMessage").nth(19)
        last.scroll_into_view_if_needed()
        citation = last.get_by_role("button", name=re.compile(r"^\[1\] runbook\.md"))
        citation.click()
        passage = page.locator(".ragstream-passage")
        passage.wait_for()
        page.wait_for_timeout(300)  # the rerun settles
        assert "step 10 check" in passage.inner_text()
        assert in_viewport(page, passage), passage.bounding_box()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "long-chat-citation.png"))
        page.close()


def test_same_name_upload_from_two_tabs_keeps_both(browser_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = tmp_path / "a" / "notes.md"
    second = tmp_path / "b" / "notes.md"
    for path, text in (
        (first, "The boiler is serviced in March."),
        (second, "The roof is inspected in May."),
    ):
        path.parent.mkdir()
        path.write_text(f"# Notes\n\n{text}\n")
    with serving(tmp_path / "ws", cwd=tmp_path) as (url, _process):
        tab_a, tab_b = browser_context.new_page(), browser_context.new_page()
        for tab, path in ((tab_a, first), (tab_b, second)):
            tab.goto(url)
            tab.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
        tab_a.get_by_text(re.compile(r"notes.*\.md.*ingested")).wait_for()
        tab_b.get_by_text(re.compile(r"notes.*\.md.*ingested")).wait_for()
        tab_a.reload()
        table = tab_a.get_by_test_id("stSidebar").locator("table")
        table.locator("tr", has_text="notes (2).md").wait_for()
        table.locator("tr", has_text=re.compile(r"^\s*notes\.md")).wait_for()
        saved = sorted(p.read_text() for p in (tmp_path / "ws" / "uploads").glob("notes*.md"))
        assert saved == sorted(p.read_text() for p in (first, second))  # neither lost
        tab_a.close()
        tab_b.close()


def uploaded_bytes(metrics: str) -> int:
    """What Streamlit holds in uploaded files, from its /_stcore/metrics text."""
    found = re.search(r'cache_type="UploadedFileManager"[^}]*\}\s+(\d+)', metrics)
    return int(found.group(1)) if found else 0


def test_logout_frees_the_sessions_uploaded_bytes(browser_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import httpx2

    blob = tmp_path / "blob.bin"  # refused by the app (type), but Streamlit holds its bytes
    blob.write_bytes(b"\1" * (8 * 1024 * 1024))
    env = {"RAGSTREAM_PASSWORD": "open sesame"}
    with serving(tmp_path / "ws", env=env, cwd=tmp_path) as (url, _process):
        page = browser_context.new_page()
        page.goto(url)
        page.get_by_label("Password", exact=True).fill("open sesame")
        page.get_by_role("button", name="Enter").click()
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(blob))
        page.get_by_text(re.compile(r"blob\.bin.*not supported")).wait_for()
        held = uploaded_bytes(page.request.get(f"{url}/_stcore/metrics").text())
        assert held >= 8 * 1024 * 1024
        page.get_by_text("Log out").click()
        page.wait_for_url(f"{url}/login*")
        page.close()

        with httpx2.Client(base_url=url) as admin:
            admin.post("/login", data={"password": "open sesame", "next": "/"})
            deadline = time.monotonic() + 90  # reconnect window (30 s) + janitor tick
            while (
                uploaded_bytes(admin.get("/_stcore/metrics").text) and time.monotonic() < deadline
            ):
                time.sleep(2)
            assert uploaded_bytes(admin.get("/_stcore/metrics").text) == 0


def test_a_question_asked_during_an_ingest_does_not_interrupt_it(
    browser_context, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "manual.md"
    sections = [
        f"## Part {n}\n\n" + f"Part {n} explains the valve number {n} and its pressure. " * 60
        for n in range(1, 120)
    ]
    big.write_text(
        "# Manual\n\nThe emergency exit is at the north stair.\n\n" + "\n\n".join(sections)
    )
    with serving(tmp_path / "ws", cwd=tmp_path) as (url, _process):
        page = browser_context.new_page()
        page.goto(url)
        page.get_by_text("Ask your documents", exact=True).wait_for()
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(big))
        bar = page.get_by_test_id("stSidebar").get_by_test_id("stProgress")
        bar.wait_for()
        chat = page.get_by_test_id("stChatInputTextArea")
        chat.fill("Where is the emergency exit?")
        chat.press("Enter")
        page.get_by_test_id("stChatMessage").nth(1).wait_for()  # answered meanwhile
        page.get_by_text(re.compile(r"manual\.md.*ingested \(\d+ chunks\)")).wait_for()
        row = page.get_by_test_id("stSidebar").locator("table tr", has_text="manual.md")
        assert int(row.locator("td").nth(2).inner_text()) > 50
        page.close()


def test_a_saved_chat_survives_a_server_restart(browser_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "faq.md"
    doc.write_text("# FAQ\n\nThe canteen serves lunch from noon until two.\n")
    with serving(tmp_path / "ws", cwd=tmp_path) as (url, _process):
        page = browser_context.new_page()
        page.goto(url)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(doc))
        page.get_by_text(re.compile(r"faq\.md.*ingested")).wait_for()
        chat = page.get_by_test_id("stChatInputTextArea")
        chat.fill("When is lunch served?")
        chat.press("Enter")
        page.get_by_test_id("stChatMessage").filter(has_text="noon").wait_for()
        idle(page)
        page.close()
    with serving(tmp_path / "ws", cwd=tmp_path) as (url, _process):  # a new server process
        page = browser_context.new_page()
        page.goto(url)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text(re.compile(r"Conversations \(1\)")).click()
        sidebar.get_by_role("button", name="When is lunch served?").click()
        page.get_by_test_id("stChatMessage").filter(has_text="noon").wait_for()
        page.get_by_role("button", name=re.compile(r"\[1\] faq\.md")).wait_for()
        page.close()
