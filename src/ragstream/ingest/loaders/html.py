"""HTML (.html, .htm) via BeautifulSoup: the main text only, headings as section titles.

Menus, scripts, forms and page chrome are dropped; <main> (or a single <article>) is
preferred when the page has one. Encoding comes from the BOM or <meta charset>, as a
browser would read it (BeautifulSoup's UnicodeDammit).
"""

from __future__ import annotations

import codecs
import logging
import warnings

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag
from bs4.element import CData, ProcessingInstruction

from ragstream.errors import LoaderError
from ragstream.ingest.clean_html import (
    clean_heading,
    content_root,
    strip_chrome,
    text_without_chrome_lines,
)
from ragstream.ingest.limits import HTML_MAX_TAGS, check_count, check_time
from ragstream.ingest.loaders.common import (
    LEGACY_WARNING,
    SNIFF_BYTES,
    LoadResult,
    SectionBuilder,
    decode_legacy,
)
from ragstream.models import Section

# bs4 logs "Some characters could not be decoded" with no handler: Python's last-resort
# handler printed it on stderr. A NullHandler stops that (see pdf.py).
logging.getLogger("bs4").addHandler(logging.NullHandler())

_ALWAYS_DROP = {
    "script", "style", "noscript", "template", "nav", "aside", "form", "svg", "iframe",
    "button", "select", "textarea", "canvas", "object", "embed", "dialog", "head", "footer",
}  # fmt: skip
_CHROME = {"header"}  # page chrome around <body>; an article's <header> holds its title
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "thead", "tbody", "tfoot", "tr", "blockquote", "figure", "figcaption", "address",
    "details", "summary", "hr", "body", "html", "caption",
}  # fmt: skip
_SKIPPED_STRINGS = (Comment, Doctype, CData, ProcessingInstruction)


def load_html(data: bytes) -> LoadResult:
    if b"\x00" in data[:SNIFF_BYTES] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoaderError("binary content in an .html file")
    # Counted before parsing: the tree of a page of 47 MB of tags took 4.3 GB and 4 minutes.
    check_count(data.count(b"<"), HTML_MAX_TAGS, "tags", "split the page")
    soup, notes = _parse(data)
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    root = content_root(soup) or _main_element(soup)
    sections = _sections(root, title)
    whole = soup.body if soup.body is not None else soup
    if not sections and root is not whole:  # an empty <main> must not lose the page's text
        sections = _sections(whole, title)
    return LoadResult(sections, notes)


def _sections(root: Tag, title: str | None) -> list[Section]:
    strip_chrome(root)
    drop_chrome = root.name in ("body", "[document]")
    walker = _Walker(SectionBuilder(root_title=title or None), drop_chrome)
    walker.walk(root)
    return walker.finish()


def _parse(data: bytes) -> tuple[BeautifulSoup, list[str]]:
    """Parse with the encoding a BOM or <meta charset> declares, else UTF-8, else (with a
    warning) Windows-1252 as browsers do: bs4's own guess reads plain French as cp1250."""
    with warnings.catch_warnings():  # bs4 warns on stderr about undecodable bytes
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(data, "html.parser")
        if soup.original_encoding in (None, "utf-8", "ascii") or soup.declared_html_encoding:
            return soup, []
        if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return soup, []
        return BeautifulSoup(decode_legacy(data), "html.parser"), [LEGACY_WARNING]


def _main_element(soup: BeautifulSoup) -> Tag:
    main = soup.find("main") or soup.find(role="main")
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and isinstance(articles[0], Tag):
        return articles[0]
    body = soup.body
    return body if body is not None else soup


def _is_noise(element: Tag, drop_chrome: bool) -> bool:
    attrs = element.attrs or {}
    return (
        element.name in _ALWAYS_DROP
        or (drop_chrome and element.name in _CHROME)
        or attrs.get("role") in _CHROME_ROLES
        or "hidden" in attrs
        or attrs.get("aria-hidden") == "true"
    )


_LINE_BREAK = "\x00"  # stands for <br> among the inline strings (a stray NUL: a break too)
_END_OF_BLOCK = object()  # pushed after a block's children: the paragraph ends there


class _Walker:
    """Turns the element tree into paragraphs and headings, in document order.

    Iterative, with an explicit stack: real pages nest a thousand <div>s deep, which
    would overflow Python's recursion limit.
    """

    def __init__(self, builder: SectionBuilder, drop_chrome: bool) -> None:
        self.builder = builder
        self.drop_chrome = drop_chrome
        self.inline: list[str] = []

    def walk(self, root: Tag) -> None:
        stack: list[object] = list(reversed(root.contents))
        visited = 0
        while stack:
            node = stack.pop()
            visited += 1
            if visited % 4096 == 0:
                check_time()
            if node is _END_OF_BLOCK:
                self.flush()
            elif isinstance(node, _SKIPPED_STRINGS):
                continue
            elif isinstance(node, NavigableString):
                self.inline.append(str(node))
            elif isinstance(node, Tag):
                stack.extend(self._open(node))

    def _open(self, element: Tag) -> list[object]:
        """Handle an element's start; return what to push: its children, reversed."""
        name = element.name
        if _is_noise(element, self.drop_chrome):  # skipped whole, children and all
            return []
        if name in _HEADINGS:
            self.flush()
            self.builder.heading(_HEADINGS[name], clean_heading(element.get_text(" ")))
            return []
        if name == "pre":
            self.flush()
            self.builder.text(element.get_text().strip("\n"))
            return []
        if name == "br":  # a line break inside a paragraph (addresses, verse)
            self.inline.append(_LINE_BREAK)
            return []
        children: list[object] = list(reversed(element.contents))
        if name in ("td", "th") and "".join(self.inline).strip():
            self.inline.append(" | ")
        elif name in _BLOCKS:  # inline markup (<a>, <b>, <span>...) just passes through
            self.flush()
            children.insert(0, _END_OF_BLOCK)
        return children

    def flush(self) -> None:
        lines = "".join(self.inline).split(_LINE_BREAK)
        text = "\n".join(" ".join(line.split()) for line in lines if line.strip())
        text = text_without_chrome_lines(text)
        self.inline = []
        if text:
            self.builder.text(text)

    def finish(self) -> list[Section]:
        self.flush()
        return self.builder.finish()
