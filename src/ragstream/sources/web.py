"""A web source: one page, or a site crawled `depth` links deep (same host by default).

Polite and incremental: robots.txt is obeyed (with its Crawl-delay), requests to a host
are spaced by the source's rate, and a re-sync sends If-None-Match / If-Modified-Since
so an unchanged page answers 304 with no body. The page URL is the citation key.
When the start page cannot be fetched the whole sync fails (nothing is removed); a page
that answers 404/410 or is disallowed leaves the index; any other failure keeps the
previous version and follows the links that page had last time.
"""

from __future__ import annotations

import time
import urllib.robotparser
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from ragstream.errors import SourceError
from ragstream.sources.connector import Doc
from ragstream.sources.net import FetchError, Response, fetch
from ragstream.sources.spec import SourceSpec

AGENT = "ragstream"  # the robots.txt user-agent token
CONTENT_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
ROBOTS_MAX_BYTES = 512 * 1024

Fetcher = Callable[..., Response]


class WebConnector:
    def __init__(
        self,
        spec: SourceSpec,
        max_bytes: int,
        *,
        fetcher: Fetcher = fetch,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.max_bytes = max_bytes
        self.fetcher = fetcher
        self.sleep = sleep
        self.clock = clock
        self._robots: dict[str, urllib.robotparser.RobotFileParser | str] = {}
        self._last_request: dict[str, float] = {}

    def scan(self, known: Mapping[str, Mapping[str, Any]]) -> Iterator[Doc]:
        start = self.spec.location
        queue: deque[tuple[str, int]] = deque([(start, 0)])
        queued = {start}
        pages = 0
        while queue and pages < self.spec.max_pages:
            url, depth = queue.popleft()
            pages += 1
            doc = self._page(url, known.get(url, {}))
            if url == start and doc.error and not doc.gone:
                raise SourceError(f"{url}: {doc.error}")
            yield doc
            if depth >= self.spec.depth or doc.gone:
                continue
            links = doc.extra.get("links") or known.get(url, {}).get("links", [])
            for link in links:
                if link not in queued and self._follows(link):
                    queued.add(link)
                    queue.append((link, depth + 1))

    # --- one page -------------------------------------------------------------------
    def _page(self, url: str, previous: Mapping[str, Any]) -> Doc:
        why_not = self._robots_says_no(url)
        if why_not:
            return Doc(url, error=why_not, gone=why_not.startswith("disallowed"))
        headers = {}
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
        try:
            response = self._get(url, headers, self.max_bytes)
        except FetchError as exc:
            return Doc(url, error=str(exc))
        if response.status == 304 and previous:
            return Doc(url, str(previous.get("version", "")), extra=dict(previous))
        if response.status in (404, 410):
            return Doc(url, error=f"HTTP {response.status}: the page is gone", gone=True)
        if response.status != 200:
            return Doc(url, error=f"HTTP {response.status} from the server")
        mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
        suffix = CONTENT_TYPES.get(mime)
        if suffix is None:
            return Doc(url, error=f"not a text document (content type {mime or 'missing'})")
        etag = response.headers.get("etag", "")
        modified = response.headers.get("last-modified", "")
        extra: dict[str, Any] = {"etag": etag, "last_modified": modified}
        if suffix == ".html" and self.spec.depth > 0:
            extra["links"] = links_in(response.body, response.url)
        version = f"etag={etag};modified={modified}"
        extra["version"] = version
        return Doc(url, version, suffix, response.body, extra=extra)

    def _follows(self, link: str) -> bool:
        if urlsplit(link).scheme not in ("http", "https"):
            return False
        if self.spec.same_site and urlsplit(link).netloc != urlsplit(self.spec.location).netloc:
            return False
        return self.spec.wants(urlsplit(link).path or "/")

    # --- politeness -----------------------------------------------------------------
    def _get(self, url: str, headers: dict[str, str], max_bytes: int) -> Response:
        return self.fetcher(
            url,
            allow_private=self.spec.allow_private,
            timeout=self.spec.timeout,
            max_bytes=max_bytes,
            headers=headers,
            pace=self._pace,
        )

    def _pace(self, url: str) -> None:
        """Space requests to one host by the source's rate (or robots' Crawl-delay)."""
        host = urlsplit(url).netloc
        robots = self._robots.get(_origin(url))
        delay = robots.crawl_delay(AGENT) if not isinstance(robots, str | None) else None
        gap = max(1.0 / self.spec.rate, float(delay or 0))
        wait = self._last_request.get(host, -1e9) + gap - self.clock()
        if wait > 0:
            self.sleep(wait)
        self._last_request[host] = self.clock()

    def _robots_says_no(self, url: str) -> str:
        origin = _origin(url)
        if origin not in self._robots:
            self._robots[origin] = self._load_robots(origin)
        robots = self._robots[origin]
        if isinstance(robots, str):
            return robots
        return "" if robots.can_fetch(AGENT, url) else "disallowed by robots.txt"

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | str:
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            response = self._get(origin + "/robots.txt", {}, ROBOTS_MAX_BYTES)
        except FetchError as exc:
            return f"robots.txt could not be read ({exc})"
        if response.status in (401, 403):
            return f"disallowed: robots.txt answered HTTP {response.status}"
        if response.status >= 500:
            return f"robots.txt could not be read (HTTP {response.status})"
        if response.status == 200:
            parser.parse(response.body.decode("utf-8", "replace").splitlines())
        else:
            parser.parse([])  # no robots.txt: everything is allowed
        return parser


def links_in(html: bytes, base: str) -> list[str]:
    """Absolute http(s) links of a page, fragments removed, in order, without repeats."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base = urljoin(base, str(base_tag["href"]))
    found: dict[str, None] = {}
    for tag in soup.find_all("a", href=True):
        link = urljoin(base, str(tag["href"])).split("#")[0]
        if urlsplit(link).scheme in ("http", "https"):
            found[link] = None
    return list(found)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
