"""Real documentation pages, generated at test time by the real tools from the tiny
sources in tests/ingest/corpus/, and the measure of how much of their indexed text is
boilerplate. Shared by tests/ingest/test_generated_html.py and bench/documents.py.

Tools come from Debian packages (scripts/setup-dev installs them): texinfo, python3-sphinx,
mkdocs, doxygen, pandoc. A missing tool yields no pages for that generator (tests skip).
Hand-checked fixtures stand in for generators with no Debian package small enough to
install here (Javadoc needs a JDK; man2html output and GitHub's rendering are captured
shapes), in corpus/fixtures/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from ragstream.models import Section

CORPUS = Path(__file__).parent / "corpus"
FIXTURES = CORPUS / "fixtures"


def _run(args: list[str], cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=120)


def _texinfo(out: Path) -> list[Path]:
    _run(["makeinfo", "--html", str(CORPUS / "texinfo/ffi.texi"), "-o", str(out)], out.parent)
    return sorted(out.glob("*.html"))


def _sphinx(theme: str) -> Callable[[Path], list[Path]]:
    def build(out: Path) -> list[Path]:
        _run(["sphinx-build", "-q", "-b", "html", "-D", f"html_theme={theme}",
              str(CORPUS / "sphinx"), str(out)], out.parent)  # fmt: skip
        return [out / "index.html", out / "usage.html"]

    return build


def _mkdocs(theme: str) -> Callable[[Path], list[Path]]:
    def build(out: Path) -> list[Path]:
        _run(["mkdocs", "build", "-q", "-t", theme, "-d", str(out)], CORPUS / "mkdocs")
        return [out / "index.html", out / "setup/index.html"]

    return build


def _doxygen(out: Path) -> list[Path]:
    out.mkdir(parents=True)
    for name in ("Doxyfile", "queue.h"):
        shutil.copy(CORPUS / "doxygen" / name, out / name)
    _run(["doxygen", "Doxyfile"], out)
    html = out / "out/html"
    return [html / "structqueue.html", html / "queue_8h.html"]


def _pandoc(out: Path) -> list[Path]:
    out.mkdir(parents=True)
    page = out / "guide.html"
    _run(["pandoc", "-s", "--toc", str(CORPUS / "pandoc/guide.md"), "-o", str(page)], out)
    return [page]


# name -> (command that must exist, builder, the sources whose words are the content)
GENERATORS: dict[str, tuple[str, Callable[[Path], list[Path]], tuple[str, ...]]] = {
    "texinfo": ("makeinfo", _texinfo, ("texinfo/ffi.texi",)),
    "sphinx-alabaster": ("sphinx-build", _sphinx("alabaster"), ("sphinx/index.rst", "sphinx/usage.rst")),
    "sphinx-classic": ("sphinx-build", _sphinx("classic"), ("sphinx/index.rst", "sphinx/usage.rst")),
    "mkdocs": ("mkdocs", _mkdocs("mkdocs"), ("mkdocs/docs/index.md", "mkdocs/docs/setup.md")),
    "mkdocs-readthedocs": ("mkdocs", _mkdocs("readthedocs"), ("mkdocs/docs/index.md", "mkdocs/docs/setup.md")),
    "doxygen": ("doxygen", _doxygen, ("doxygen/queue.h",)),
    "pandoc": ("pandoc", _pandoc, ("pandoc/guide.md",)),
}  # fmt: skip
# Hand-checked captures: (page, its content source).
FIXTURE_PAGES: dict[str, tuple[str, str]] = {
    "javadoc": ("fixtures/javadoc.html", "fixtures/javadoc.txt"),
    "man2html": ("fixtures/man2html.html", "fixtures/man2html.txt"),
    "github": ("fixtures/github.html", "fixtures/github.txt"),
}


def generate(name: str, out: Path) -> list[Path] | None:
    """The pages `name` generates into `out` (must not exist), or None without the tool."""
    if name in FIXTURE_PAGES:
        return [CORPUS / FIXTURE_PAGES[name][0]]
    command, build, _ = GENERATORS[name]
    if shutil.which(command) is None:
        return None
    return build(out)


def source_text(name: str) -> str:
    paths = (FIXTURE_PAGES[name][1],) if name in FIXTURE_PAGES else GENERATORS[name][2]
    return "\n".join((CORPUS / p).read_text(encoding="utf-8") for p in paths)


ALL = (*GENERATORS, *FIXTURE_PAGES)

# --- the boilerplate measure -----------------------------------------------------------
_QUOTES = str.maketrans("‘’“”", "''\"\"")
_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Z]\.(?:\d+\.?)*)\s+")


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.translate(_QUOTES).lower()))


# What Doxygen derives from the code is content, not chrome: its section labels and the
# declarations it prints ("int queue::capacity", "int | queue_push (struct queue *q, ...").
_GENERATED_CONTENT = re.compile(
    r"^(?:.* (?:Struct|Class|File|Union|Namespace) Reference|Public Attributes|Classes|Functions"
    r"|Detailed Description|Member Data Documentation|Function Documentation|#include <.*>"
    r"|.*::.*|.*\(.*|[\w *]+ \| [\w *]+)$"
)


_MARKS = re.compile(r"[¶◆↩§]")  # permalink and back-link marks


def boilerplate_lines(sections: Sequence[Section], source: str) -> list[str]:
    """Indexed lines that are chrome: lines whose words do not occur, in order, in the
    source the page was generated from (section numbers the generator adds are not
    counted against it, nor Doxygen's labels and declarations: see _GENERATED_CONTENT);
    lines carrying permalink marks; and table-of-contents lines, i.e. a heading's words
    again on a line that is not a heading."""
    known = f" {_words(source)} "
    headings = {_words(_NUMBERING.sub("", s.text.split("\n")[0])) for s in sections}
    bad = []
    for section in sections:
        for index, line in enumerate(section.text.split("\n")):
            words = _words(_NUMBERING.sub("", line))
            if not words:
                continue
            foreign = f" {words} " not in known and not _GENERATED_CONTENT.match(line)
            toc = index > 0 and words in headings
            if foreign or toc or _MARKS.search(line):
                bad.append(line)
    return bad


def boilerplate_share(sections: Sequence[Section], source: str) -> tuple[float, int]:
    """(share of indexed non-space characters that are boilerplate, total characters)."""
    total = sum(len("".join(s.text.split())) for s in sections)
    bad = sum(len("".join(line.split())) for line in boilerplate_lines(sections, source))
    return (bad / total if total else 0.0), total
