"""HTML (.html, .htm) via BeautifulSoup: the main text only, headings as section titles.

Menus, scripts, forms and page chrome are dropped; <main> (or a single <article>) is
preferred when the page has one. Encoding comes from the BOM or <meta charset>, as a
browser would read it (BeautifulSoup's UnicodeDammit).
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag
from bs4.element import CData, ProcessingInstruction

from ragstream.errors import LoaderError
from ragstream.ingest.loaders.common import SNIFF_BYTES, LoadResult, SectionBuilder
from ragstream.models import Section

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
    "details", "summary", "hr", "br", "body", "html", "caption",
}  # fmt: skip
_SKIPPED_STRINGS = (Comment, Doctype, CData, ProcessingInstruction)


def load_html(data: bytes) -> LoadResult:
    if b"\x00" in data[:SNIFF_BYTES] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoaderError("binary content in an .html file")
    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    root = _main_element(soup)
    _drop_noise(root, drop_chrome=root.name in (None, "body", "html", "[document]"))
    walker = _Walker(SectionBuilder(root_title=title or None))
    walker.walk(root)
    return LoadResult(walker.finish())


def _main_element(soup: BeautifulSoup) -> Tag:
    main = soup.find("main") or soup.find(role="main")
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and isinstance(articles[0], Tag):
        return articles[0]
    body = soup.body
    return body if body is not None else soup


def _drop_noise(root: Tag, drop_chrome: bool) -> None:
    for element in list(root.find_all(True)):
        if element.decomposed:
            continue
        attrs = element.attrs or {}
        if (
            element.name in _ALWAYS_DROP
            or (drop_chrome and element.name in _CHROME)
            or attrs.get("role") in _CHROME_ROLES
            or "hidden" in attrs
            or attrs.get("aria-hidden") == "true"
        ):
            element.decompose()


class _Walker:
    """Turns the element tree into paragraphs and headings, in document order."""

    def __init__(self, builder: SectionBuilder) -> None:
        self.builder = builder
        self.inline: list[str] = []

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, _SKIPPED_STRINGS):
                continue
            if isinstance(child, NavigableString):
                self.inline.append(str(child))
            elif isinstance(child, Tag):
                self._element(child)

    def _element(self, element: Tag) -> None:
        name = element.name
        if name in _HEADINGS:
            self.flush()
            self.builder.heading(_HEADINGS[name], element.get_text(" "))
        elif name == "pre":
            self.flush()
            self.builder.text(element.get_text().strip("\n"))
        elif name in ("td", "th"):
            if "".join(self.inline).strip():
                self.inline.append(" | ")
            self.walk(element)
        elif name in _BLOCKS:
            self.flush()
            self.walk(element)
            self.flush()
        else:  # inline markup: <a>, <b>, <span>...
            self.walk(element)

    def flush(self) -> None:
        text = " ".join("".join(self.inline).split())
        self.inline = []
        if text:
            self.builder.text(text)

    def finish(self) -> list[Section]:
        self.flush()
        return self.builder.finish()
