"""A corpus of hostile files, generated (never committed), and an ingest run in a child.

    build(folder) -> {name: expected reason substring, or None for a good file}
    python -m tests.ingest.hostile CORPUS WORKSPACE [--vanish NAME]
        ingests CORPUS into WORKSPACE and prints one JSON line: every file's result and
        the process's own peak RSS (VmHWM from /proc/self/status: ru_maxrss would carry
        the parent's peak across exec). --vanish deletes NAME as its turn comes.

Used by tests/ingest/test_hostile.py (under a memory cap) and bench/hostile.py (per file,
before and after). Sizes are what the issue reported, scaled where only the shape matters.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx
from fpdf import FPDF

MiB = 1024 * 1024
WORDS = [
    *("invoice", "concrete", "deploy", "key", "rotate", "curing", "slab", "release"),
    *("server", "answer", "question", "index", "chunk", "vector", "search", "ranking"),
    *("page", "table", "heading", "section", "paragraph", "document", "folder"),
]


def prose(n_words: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    sentences, words = [], 0
    while words < n_words:
        k = rng.randint(6, 18)
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + ".")
        words += k
    return " ".join(sentences)


# --- DOCX ----------------------------------------------------------------------------
def _docx_template() -> bytes:
    document = docx.Document()
    document.add_heading("Template", level=1)
    document.add_paragraph("placeholder")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_with_body(path: Path, paragraphs: Callable[[], object], target_bytes: int) -> Path:
    """A real DOCX whose word/document.xml is written in pieces up to ~target_bytes."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body>"
    )
    with (
        zipfile.ZipFile(io.BytesIO(_docx_template())) as template,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for item in template.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, template.read(item))
        with out.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(head)
            written = 0
            while written < target_bytes:
                piece = str(paragraphs()).encode()
                body.write(piece)
                written += len(piece)
            body.write(b"</w:body></w:document>")
    return path


def _paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def docx_bomb(path: Path, inflated: int) -> Path:
    """One paragraph repeated: inflates hundreds of times its zipped size."""
    block = _paragraph("All work and no play makes a dull document.") * 20_000
    return docx_with_body(path, lambda: block, inflated)


def docx_large(path: Path, inflated: int, seed: int = 1) -> Path:
    """Varied paragraphs (an honest big document): compresses like real text."""
    rng = random.Random(seed)
    pool = [_paragraph(prose(40, rng.randrange(10**9))) for _ in range(500)]
    return docx_with_body(path, lambda: "".join(rng.choice(pool) for _ in range(2_000)), inflated)


def docx_small(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Key rotation", level=1)
    document.add_paragraph(prose(120, seed=7))
    document.save(str(path))
    return path


# --- PDF -----------------------------------------------------------------------------
def raw_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF written by hand (object 1 the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))
    return path


def _one_page_objects(
    kids: bytes, count: int, text: bytes, catalog_extra: bytes = b""
) -> list[bytes]:
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    return [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Count %d /Kids [" % count + kids + b"] >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def pdf_page_tree_bomb(path: Path, references: int) -> Path:
    """One page listed `references` times in the page tree: a few MB, a million pages."""
    return raw_pdf(path, _one_page_objects(b"3 0 R " * references, references, b"bomb"))


def pdf_stream_bomb(path: Path, inflated: int) -> Path:
    """One page whose Flate content stream inflates to `inflated` bytes of text operators."""
    line = b"BT /F1 12 Tf 72 720 Td (bomb text) Tj ET\n"
    packed = zlib.compress(line * (inflated // len(line)), 9)
    objects = _one_page_objects(b"3 0 R", 1, b"x")
    objects[3] = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
    objects[3] += packed + b"\nendstream"
    return raw_pdf(path, objects)


def pdf_outline_loop(path: Path) -> Path:
    """A good page whose bookmark is its own child and sibling (pypdfium2 logs a warning)."""
    objects = _one_page_objects(b"3 0 R", 1, b"Rotate the key yearly.", b"/Outlines 6 0 R")
    objects.append(b"<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>")
    objects.append(b"<< /Title (Loop) /Parent 6 0 R /Dest [3 0 R /Fit] /First 7 0 R /Next 7 0 R >>")
    return raw_pdf(path, objects)


def pdf_small(path: Path) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for page in range(3):
        pdf.add_page()
        pdf.multi_cell(0, 6, prose(80, seed=page))
    pdf.output(str(path))
    return path


# --- text ----------------------------------------------------------------------------
def big_text(path: Path, size: int) -> Path:
    block = (prose(2_000, seed=3) + "\n\n").encode()
    with path.open("wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)
    return path


def build(folder: Path, *, scale: float = 1.0) -> dict[str, str | None]:
    """Write the corpus into `folder`; each name maps to the reason expected for it
    (a substring), or None for a good file that must be ingested. `scale` < 1 shrinks
    the big files (the bench uses 1, the test less) where the shape is what matters."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str | None] = {}

    def bad(name: str, reason: str) -> Path:
        expected[name] = reason
        return folder / name

    def good(name: str) -> Path:
        expected[name] = None
        return folder / name

    docx_bomb(bad("bomb-part.docx", "over the 48 MB limit"), int(100 * MiB * scale) + 49 * MiB)
    docx_bomb(bad("bomb-ratio.docx", "looks like a zip bomb"), 40 * MiB)
    bad("not-a-zip.docx", "not a readable DOCX").write_bytes(b"PK\x03\x04 truncated")
    pdf_page_tree_bomb(bad("page-tree-bomb.pdf", "over 5,000 pages"), int(1_000_000 * scale))
    pdf_stream_bomb(bad("stream-bomb.pdf", "looks like a stream bomb"), int(200 * MiB * scale))
    big_text(bad("huge.txt", "over 4,000 chunks"), int(48 * MiB * scale))
    bad("dots.txt", "over 4,000 chunks").write_bytes(b"." * MiB)
    bad("binary.txt", "binary content").write_bytes(b"\x00\x01\x02" * 1000)
    os.symlink("loop-b.txt", bad("loop-a.txt", "Too many levels of symbolic links"))
    os.symlink("loop-a.txt", bad("loop-b.txt", "Too many levels of symbolic links"))
    os.mkfifo(bad("pipe.txt", "not a regular file (a FIFO)"))
    bad("vanish.txt", "No such file or directory").write_text(prose(50), encoding="utf-8")

    good("notes.txt").write_text(prose(400, seed=11), encoding="utf-8")
    good("guide.md").write_text("# Guide\n\n" + prose(300, seed=12), encoding="utf-8")
    good("page.html").write_text(
        f"<html><body><main></main><p>{prose(200, seed=13)}</p></body></html>", encoding="utf-8"
    )
    good("late-nul.txt").write_bytes(prose(2_000, seed=14).encode() + b"\x00tail\x00 words.")
    docx_small(good("small.docx"))
    pdf_small(good("small.pdf"))
    pdf_outline_loop(good("outline-loop.pdf"))
    good("feed.html").write_text('<?xml version="1.0"?><html><p>Feed text.</p></html>')
    good("url.html").write_text("https://example.com/looks-like-a-locator")
    good("odd-bytes.html").write_bytes(b"<p>caf\x81\x8d\x90 with undecodable bytes</p>")
    # A name that is not UTF-8: stored under a \xNN key, its text indexed.
    raw = os.fsencode(folder) + b"/caf\xe9-menu.txt"
    with open(raw, "wb") as handle:
        handle.write(prose(150, seed=15).encode())
    expected["caf\\xe9-menu.txt"] = None
    return expected


# --- the child: one ingest, its results and its own peak RSS --------------------------
def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(argv: list[str]) -> None:
    from ragstream.workspace import Workspace

    corpus, workspace = Path(argv[0]), Path(argv[1])
    vanish = argv[argv.index("--vanish") + 1] if "--vanish" in argv else None

    def progress(event: object) -> None:
        stage, key = getattr(event, "stage", ""), getattr(event, "path", "")
        if vanish and stage == "load" and key.endswith("/" + vanish):
            (corpus / vanish).unlink(missing_ok=True)

    with Workspace.open(workspace=workspace) as ws:
        ws.embedder.embed(["warm-up"])  # model load is start-up, not this ingest
        started = time.perf_counter()
        report = ws.ingest([corpus], progress=progress)
        seconds = time.perf_counter() - started
    files = [
        {"path": f.path.rsplit("/", 1)[-1], "status": f.status, "reason": f.reason}
        for f in report.files
    ]
    chunks = sum(f.n_chunks for f in report.files)
    print(
        json.dumps(
            {"files": files, "chunks": chunks, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
