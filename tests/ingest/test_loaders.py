"""Each loader on real files built in tmp_path, including every bad input the ingest
report must explain in one line."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest
from fpdf import FPDF

from ragstream.config import MB
from ragstream.ingest.loaders import CODE_SUFFIXES, SUPPORTED_SUFFIXES, is_supported, load_document
from ragstream.ingest.loaders.common import LEGACY_WARNING
from ragstream.ingest.ocr import ocr_context
from tests.ingest.files import load, reason, write


def make_pdf(path: Path, pages: list[str]) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


# --- registry -------------------------------------------------------------------------
def test_supported_suffixes_are_the_documented_ones() -> None:
    documents = {".txt", ".rst", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm", ".csv",
                 ".tsv", ".xlsx", ".pptx", ".eml", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}  # fmt: skip
    assert documents | set(CODE_SUFFIXES) == SUPPORTED_SUFFIXES
    assert is_supported(Path("a/B.PDF")) and is_supported(Path("notes.Markdown"))
    assert is_supported(Path("sheet.xlsx")) and is_supported(Path("src/app.py"))
    assert not is_supported(Path("old.xls")) and not is_supported(Path("Makefile"))


def test_unsupported_suffix_is_a_loader_error(tmp_path: Path) -> None:
    assert "unsupported file type '.xls'" in reason(write(tmp_path, "a.xls", b"x"))


# --- size, emptiness, unreadable: checked before any loader runs ----------------------
def test_a_200_mb_file_is_refused_from_stat_without_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        os.truncate(handle.fileno(), 200 * MB)  # sparse: costs no disk
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a file over the limit"))
    assert reason(path, max_bytes=50 * MB) == (
        "file is 200.0 MB, over the 50.0 MB limit (raise max_file_mb / RAGSTREAM_MAX_FILE_MB to allow it)"
    )


def test_a_file_at_the_limit_is_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "x" * 100)
    assert load(path, max_bytes=100)[0].text == "x" * 100


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_an_empty_file_of_any_type_says_so(tmp_path: Path, suffix: str) -> None:
    assert reason(write(tmp_path, "empty" + suffix, b"")) == "empty file"


@pytest.mark.parametrize("name", ["blank.txt", "blank.md", "blank.html"])
def test_whitespace_only_says_no_text(tmp_path: Path, name: str) -> None:
    assert reason(write(tmp_path, name, " \n\r\n\t \n")).startswith("no text found")


def test_an_unreadable_path_says_why(tmp_path: Path) -> None:
    (tmp_path / "dir.txt").mkdir()
    assert reason(tmp_path / "dir.txt") == "not a regular file (a folder): only files are read"
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere")
    assert reason(tmp_path / "gone.txt").startswith("cannot read the file (No such file")


def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")  # opening it for reading would block forever
    assert reason(tmp_path / "pipe.txt") == "not a regular file (a FIFO): only files are read"


def test_nul_bytes_after_the_sniffed_head_are_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, "late-nul.txt", "x" * 9000 + "\x00ab\x00c")
    [section] = load(path)
    assert section.text == "x" * 9000 + "abc"


# --- text -----------------------------------------------------------------------------
def test_utf8_text_with_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "\ufeffLine one.\r\nLine two: naïve ☃.\r\n\r\n\r\n\r\nEnd.\r\n")
    result = load_document(path)
    assert result.warnings == []
    [section] = result.sections
    assert section.text == "Line one.\nLine two: naïve ☃.\n\n\n\nEnd."  # lines as in the file
    assert section.page is None and section.title is None and section.line == 1


def test_text_and_code_sections_know_their_first_line(tmp_path: Path) -> None:
    [text] = load(write(tmp_path, "a.txt", "\n\n  \nFirst.  \nSecond.\n\n"))
    assert (text.line, text.text) == (4, "First.\nSecond.")
    [code] = load(write(tmp_path, "app.py", "import os\n\n\ndef main():\n    pass\n"))
    assert (code.line, code.text) == (1, "import os\n\n\ndef main():\n    pass")


def test_cp1252_text_is_read_with_a_warning(tmp_path: Path) -> None:
    text = "Grüße aus München – “quoted” for 5 €; café déjà vu."
    result = load_document(write(tmp_path, "legacy.txt", text.encode("cp1252")))
    assert result.sections[0].text == text
    assert result.warnings == [LEGACY_WARNING]


def test_latin1_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    text = "caf\xe9 \x81 ok"  # \x81 has no cp1252 character
    result = load_document(write(tmp_path, "legacy.txt", text.encode("latin-1")))
    assert result.sections[0].text == text and result.warnings == [LEGACY_WARNING]


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    path = write(tmp_path, "win.txt", "Notepad's \u201cUnicode\u201d.".encode("utf-16"))
    assert load(path)[0].text == "Notepad's \u201cUnicode\u201d."


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,  # NUL bytes
        b"\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 20 + b"some text",  # controls, no NUL
        b"\xff\xfe\x00\xd8",  # UTF-16 BOM with a lone surrogate
        b"\xff\xfe" + b"\x01\x00\x02\x00" * 100,  # UTF-16 BOM, then U+0001 U+0002...
    ],
)
def test_binary_content_in_a_txt_file(tmp_path: Path, data: bytes) -> None:
    assert reason(write(tmp_path, "photo.txt", data)).startswith("binary content in a .txt file")


def test_binary_content_in_a_markdown_file(tmp_path: Path) -> None:
    assert reason(write(tmp_path, "x.md", b"\x00\x01PK")) == "binary content in a .md file"


# --- markdown -------------------------------------------------------------------------
MARKDOWN = """---
title: front matter is dropped
---
Intro before any heading.

# Deploy

Deploy overview.

## Start script ##

Run `start.sh`.

```bash
# not a heading: inside a fence
./start.sh
```

### Flags
Use --dry-run.

# Rotate keys
Setext heading
--------------

Under setext.

***

Rotate monthly.
"""


def test_markdown_headings_become_title_paths(tmp_path: Path) -> None:
    sections = load(write(tmp_path, "faq.md", MARKDOWN))
    assert [s.title for s in sections] == [
        None,
        "Deploy",
        "Deploy > Start script",
        "Deploy > Start script > Flags",
        "Rotate keys > Setext heading",
    ]
    # each section is the file's lines from its heading on, as written, cited by line
    assert (sections[0].line, sections[0].text) == (4, "Intro before any heading.")
    assert sections[2].text.startswith("## Start script ##\n\nRun `start.sh`.")
    assert "# not a heading: inside a fence\n./start.sh\n```" in sections[2].text
    assert (sections[3].line, sections[3].text) == (19, "### Flags\nUse --dry-run.")
    assert sections[4].text == (
        "Setext heading\n--------------\n\nUnder setext.\n\n***\n\nRotate monthly."
    )
    lines = MARKDOWN.split("\n")
    for section in sections:
        assert section.line is not None
        first = section.line - 1
        assert lines[first : first + section.text.count("\n") + 1] == section.text.split("\n")
    assert all("front matter" not in s.text for s in sections)


def test_markdown_suffix_variant_and_heading_without_body(tmp_path: Path) -> None:
    sections = load(write(tmp_path, "a.markdown", "# Only a title\n## Child\ntext\n"))
    assert [(s.title, s.text) for s in sections] == [("Only a title > Child", "## Child\ntext")]


# --- pdf ------------------------------------------------------------------------------
def test_pdf_text_per_page_with_1_based_pages_and_blank_pages_skipped(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "runbook.pdf", ["Install the agent.", "", "Rotate the key."])
    sections = load(path)
    assert [(s.page, s.text) for s in sections] == [
        (1, "Install the agent."),
        (3, "Rotate the key."),
    ]


def test_pdf_bookmarks_become_section_titles(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for title, sub, text in [
        ("Install", "", "Get it."),
        ("Run", "Flags", "Go."),
        ("", "", "More."),
    ]:
        pdf.add_page()
        if title:
            pdf.start_section(title)
        if sub:
            pdf.start_section(sub, level=1)
        pdf.multi_cell(0, 6, text)
    pdf.output(str(tmp_path / "book.pdf"))
    sections = load(tmp_path / "book.pdf")
    assert [(s.page, s.title) for s in sections] == [
        (1, "Install"),
        (2, "Run"),  # the first bookmark starting on the page
        (3, "Run > Flags"),  # carried over: the last bookmark before the page
    ]


def test_encrypted_pdf(tmp_path: Path) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", ["Secret plans."])
    writer = pypdf.PdfWriter(clone_from=plain)
    writer.encrypt(user_password="hunter2", algorithm="AES-256")
    writer.write(tmp_path / "locked.pdf")
    assert reason(tmp_path / "locked.pdf") == (
        "encrypted PDF: decrypt it first (qpdf --decrypt) or remove it"
    )


def test_pdf_with_only_an_owner_password_opens_like_in_a_viewer(tmp_path: Path) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", ["Printable but not editable."])
    writer = pypdf.PdfWriter(clone_from=plain)
    writer.encrypt(user_password="", owner_password="owner")
    writer.write(tmp_path / "restricted.pdf")
    assert load(tmp_path / "restricted.pdf")[0].text == "Printable but not editable."


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_pdf(tmp_path: Path, keep: float) -> None:
    data = make_pdf(tmp_path / "full.pdf", ["Some text."] * 3).read_bytes()
    path = write(tmp_path, "cut.pdf", data[: int(len(data) * keep)])
    assert reason(path).startswith("not a readable PDF")


def test_not_a_pdf_at_all(tmp_path: Path) -> None:
    assert reason(write(tmp_path, "fake.pdf", "just words")).startswith("not a readable PDF")


def test_scanned_pdf_without_text(tmp_path: Path) -> None:
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.rect(20, 20, 100, 150, style="F")  # a picture of a page, no text layer
    pdf.output(str(tmp_path / "scan.pdf"))
    # OCR (tests/ingest/test_ocr.py) reads the pictures and finds no words in them either.
    assert reason(tmp_path / "scan.pdf") == "OCR found no text on its pages"
    with ocr_context("off"):
        assert reason(tmp_path / "scan.pdf").startswith(
            "no extractable text (scanned?): OCR is off"
        )


# --- docx -----------------------------------------------------------------------------
def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Key policy", level=0)  # "Title" style
    document.add_paragraph("Keys are rotated every 90 days.")
    document.add_heading("Who may rotate", level=1)
    document.add_paragraph("Only on-call engineers.")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Role", "Rotate", "Read"], ["On-call", "yes", "yes"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "Auditor (merged)"
    table.cell(2, 2).text = "yes"
    document.add_paragraph("After the table.")
    document.add_heading("Audit", level=2)
    document.add_paragraph("Logged in CloudTrail.")
    document.save(str(path))
    return path


def test_docx_headings_and_tables_in_document_order(tmp_path: Path) -> None:
    sections = load(make_docx(tmp_path / "policy.docx"))
    assert [s.title for s in sections] == [
        "Key policy",
        "Key policy > Who may rotate",
        "Key policy > Who may rotate > Audit",
    ]
    assert sections[0].text == "Key policy\n\nKeys are rotated every 90 days."
    assert sections[1].text == (
        "Who may rotate\n\nOnly on-call engineers.\n\n"
        "Role | Rotate | Read\nOn-call | yes | yes\nAuditor (merged) | yes\n\nAfter the table."
    )
    assert sections[2].text == "Audit\n\nLogged in CloudTrail."


def test_truncated_docx(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "ok.docx").read_bytes()
    assert reason(write(tmp_path, "cut.docx", data[: len(data) // 2])).startswith(
        "not a readable DOCX"
    )


def test_a_zip_that_is_not_a_docx(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert reason(write(tmp_path, "x.docx", buffer.getvalue())).startswith("not a readable DOCX")


def test_encrypted_or_legacy_word_file(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    assert reason(write(tmp_path, "locked.docx", ole)).startswith("encrypted DOCX or old .doc file")


def test_docx_without_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("")
    document.save(str(tmp_path / "blank.docx"))
    assert reason(tmp_path / "blank.docx").startswith("no text found")


# --- html -----------------------------------------------------------------------------
PAGE = """<!doctype html>
<html><head><title>RAGstream help</title><style>body{color:red}</style>
<script>var tracking = "script noise";</script></head>
<body>
<header><a href="/">Home</a> <a href="/docs">Docs menu</a></header>
<nav><ul><li>Nav noise</li></ul></nav>
<div class="layout">
<aside>Sidebar noise</aside>
<main>
  <h1>Upload   documents</h1>
  <p>Drop <b>PDF</b> or <a href="#">DOCX</a> files
     here.</p>
  <address>RAGstream team<br>Example Street 1<br/></address>
  <!-- a comment -->
  <form><label>Search noise</label><input name="q"></form>
  <h2>Limits</h2>
  <ul><li>50 MB per file</li><li>Any number of files</li></ul>
  <table><tr><th>Type</th><th>Loader</th></tr><tr><td>PDF</td><td>PDFium</td></tr></table>
  <pre>ragstream ingest ./docs
  --quiet</pre>
  <div hidden>Hidden noise</div>
</main>
</div>
<footer>Footer noise &copy; 2026</footer>
</body></html>"""


def test_html_keeps_main_text_and_drops_chrome(tmp_path: Path) -> None:
    sections = load(write(tmp_path, "help.html", PAGE))
    assert [s.title for s in sections] == ["Upload documents", "Upload documents > Limits"]
    assert sections[0].text == (
        "Upload documents\n\nDrop PDF or DOCX files here.\n\nRAGstream team\nExample Street 1"
    )
    assert sections[1].text == (
        "Limits\n\n50 MB per file\n\nAny number of files\n\nType | Loader\n\nPDF | PDFium\n\n"
        "ragstream ingest ./docs\n  --quiet"
    )
    everything = " ".join(s.text for s in sections)
    assert "noise" not in everything and "comment" not in everything


def test_html_without_main_drops_header_and_footer_and_uses_the_page_title(
    tmp_path: Path,
) -> None:
    page = (
        "<html><head><title>Release notes</title></head><body>"
        "<header>Site header</header><p>Version 1.2 adds hybrid search.</p>"
        "<footer>Site footer</footer></body></html>"
    )
    [section] = load(write(tmp_path, "notes.htm", page))
    assert (section.title, section.text) == ("Release notes", "Version 1.2 adds hybrid search.")


def test_html_article_keeps_its_own_header(tmp_path: Path) -> None:
    page = (
        "<body><nav>menu</nav><article><header><h1>Post title</h1></header>"
        "<p>Body text.</p><footer>Post footer</footer></article></body>"
    )
    [section] = load(write(tmp_path, "post.html", page))
    assert (section.title, section.text) == ("Post title", "Post title\n\nBody text.")


def test_html_meta_charset_is_honoured(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"></head><body><p>Café – “ok”</p></body>'
    path = write(tmp_path, "legacy.html", page.encode("cp1252"))
    assert load(path)[0].text == "Café – “ok”"


def test_undeclared_legacy_html_is_read_as_windows_1252_with_a_warning(tmp_path: Path) -> None:
    page = "<p>Café – “ok” déjà vu</p>"
    result = load_document(write(tmp_path, "legacy.html", page.encode("cp1252")))
    assert result.sections[0].text == "Café – “ok” déjà vu"
    assert result.warnings == [LEGACY_WARNING]
    utf8 = load_document(write(tmp_path, "modern.html", page))
    assert utf8.sections[0].text == "Café – “ok” déjà vu" and utf8.warnings == []
    utf16 = load_document(write(tmp_path, "wide.html", page.encode("utf-16")))
    assert utf16.sections[0].text == "Café – “ok” déjà vu" and utf16.warnings == []


def test_html_with_only_chrome_has_no_text(tmp_path: Path) -> None:
    page = "<body><nav>menu</nav><script>x()</script><footer>f</footer></body>"
    assert reason(write(tmp_path, "chrome.html", page)).startswith("no text found")


def test_binary_content_in_an_html_file(tmp_path: Path) -> None:
    assert reason(write(tmp_path, "x.html", b"\x89PNG\r\n\x1a\n\x00\x00")).startswith(
        "binary content in an .html file"
    )


def test_deeply_nested_html_does_not_overflow_the_stack(tmp_path: Path) -> None:
    depth = 3000  # far past Python's recursion limit
    page = "<main>" + "<div><span>q</span>" * depth + "deep text" + "</div>" * depth + "</main>"
    [section] = load(write(tmp_path, "deep.html", page))
    assert section.text.endswith("q\n\nqdeep text") and section.text.count("q") == depth


# --- hostile shapes (the full corpus runs in test_hostile.py) --------------------------
def test_an_empty_main_does_not_drop_the_page_text(tmp_path: Path) -> None:
    page = "<html><body><main> </main><div><p>Real text outside main.</p></div></body></html>"
    [section] = load(write(tmp_path, "a.html", page))
    assert section.text == "Real text outside main."


def test_a_circular_outline_keeps_the_text_and_prints_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.ingest.hostile import pdf_outline_loop

    [section] = load(pdf_outline_loop(tmp_path / "loop.pdf"))
    assert section.text == "Rotate the key yearly." and section.title == "Loop"
    assert capfd.readouterr().err == ""


def test_an_html_page_of_too_many_tags_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragstream.ingest import limits

    monkeypatch.setattr(limits, "HTML_MAX_TAGS", 100)
    monkeypatch.setattr("ragstream.ingest.loaders.html.HTML_MAX_TAGS", 100)
    path = write(tmp_path, "tags.html", "<b>x</b>" * 51)
    assert reason(path) == "over 100 tags (the per-file limit): split the page"
