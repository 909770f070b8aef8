"""Web sources against a real local site (tests/sources/site_server.py): crawl depth,
robots.txt, conditional re-sync, rate limit, and one-line reasons for bad pages.
Loopback is refused by default, so these sources use --allow-private (tested too)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragstream.errors import SourceError
from ragstream.sources import net
from ragstream.sources.net import FetchError, check_address, fetch
from ragstream.workspace import Workspace
from tests.sources.files import paths, statuses
from tests.sources.site_server import Site, html, serve_site

FAST = {"allow_private": True, "rate": 200.0, "timeout": 1.0}


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_site() as s:
        yield s


@pytest.fixture
def small_workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(workspace=tmp_path / "ws", max_file_mb=0.2)  # /huge.html is 0.4 MB
    yield ws
    ws.close()


def test_crawl_one_level_same_site(site: Site, small_workspace: Workspace) -> None:
    sources = small_workspace.sources
    sources.add(site.url + "/index.html", name="site", depth=1, **FAST)
    [result] = sources.sync("site")
    assert result.ok
    u = site.url
    got = statuses(result)
    assert {k: v for k, v in got.items() if v == "ingested"} == {
        f"{u}/index.html": "ingested",
        f"{u}/a.html": "ingested",
        f"{u}/b.html": "ingested",
        f"{u}/deep.html": "ingested",
    }
    reasons = {f.path: f.reason for f in result.report.failed}
    assert reasons[f"{u}/private/secret.html"] == "disallowed by robots.txt"
    assert reasons[f"{u}/loop"].startswith("redirect loop")
    assert reasons[f"{u}/image.png"] == "not a text document (content type image/png)"
    assert reasons[f"{u}/missing.html"] == "HTTP 404: the page is gone"
    assert reasons[f"{u}/error.html"] == "HTTP 500 from the server"
    assert f"{u}/deeper.html" not in got  # two levels down
    assert not any("elsewhere.invalid" in k for k in got)  # other site
    assert site.hits("/private/secret.html") == []  # robots.txt obeyed: never requested
    hit = small_workspace.search("Fresnel lens beam", k=1)[0]
    assert hit.chunk.path == f"{u}/b.html"  # the page URL is the citation


def test_resync_is_conditional_and_picks_up_changes(site: Site, workspace: Workspace) -> None:
    sources = workspace.sources
    sources.add(site.url + "/index.html", name="site", depth=1, **FAST)
    sources.sync("site")
    site.pages["/a.html"] = html("Fog signals", "Modern foghorns use compressed air diaphragms.")
    del site.pages["/deep.html"]
    [again] = sources.sync("site")
    u = site.url
    got = statuses(again)
    assert got[f"{u}/index.html"] == "unchanged"
    assert got[f"{u}/b.html"] == "unchanged"  # Last-Modified -> 304
    assert got[f"{u}/a.html"] == "ingested"
    assert got[f"{u}/deep.html"] == "removed"
    assert site.hits("/index.html") == [False, True]  # second request was conditional
    assert site.hits("/b.html") == [False, True]
    assert "diaphragms" in workspace.search("compressed air diaphragms", k=1)[0].chunk.text
    assert f"{u}/deep.html" not in paths(workspace)


def test_rate_limit_spaces_requests(site: Site, workspace: Workspace) -> None:
    sources = workspace.sources
    sources.add(site.url + "/index.html", name="site", depth=1, **{**FAST, "rate": 5.0})
    sources.sync("site")
    times = [t for _, _, t in site.log]
    assert len(times) > 8
    # 5 requests/s, redirect hops included; measured on the server, so allow for jitter
    assert (times[-1] - times[0]) / (len(times) - 1) >= 0.18


def test_slow_huge_and_unreachable_are_one_line(
    site: Site, small_workspace: Workspace, tmp_path: Path
) -> None:
    site.pages["/index.html"] = html("Start", "Links to trouble.", ["/slow.html", "/huge.html"])
    sources = small_workspace.sources
    sources.add(site.url + "/index.html", name="site", depth=1, **FAST)
    [result] = sources.sync("site")
    reasons = {f.path.removeprefix(site.url): f.reason for f in result.report.failed}
    assert reasons["/slow.html"] == "no answer from 127.0.0.1 within 1s"
    assert reasons["/huge.html"] == "response is over the 0.2 MB cap"
    # The start page unreachable: the whole sync fails and nothing is removed.
    with serve_site() as gone:
        url = gone.url
    sources.add(url + "/index.html", name="down", **FAST)
    [down] = sources.sync("down")
    assert not down.ok and "cannot reach 127.0.0.1" in down.error
    assert "\n" not in down.error


def test_loopback_is_refused_by_default(site: Site, workspace: Workspace) -> None:
    sources = workspace.sources
    sources.add(site.url + "/index.html", name="site")
    [result] = sources.sync("site")
    assert not result.ok
    assert "127.0.0.1, a private, loopback or reserved address: refused" in result.error
    assert "--allow-private" in result.error
    assert site.log == []  # not even robots.txt was requested
    assert paths(workspace) == set()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "::1", "::ffff:10.0.0.1"]
)
def test_private_addresses_are_refused(host: str) -> None:
    with pytest.raises(FetchError, match="refused"):
        check_address(host, 80, allow_private=False)
    assert check_address(host, 80, allow_private=True)


def test_every_redirect_hop_is_checked(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    real = net.check_address

    def public_by_ip(host: str, port: int, allow_private: bool) -> str:
        # Pretend 127.0.0.1 is a public server; names still go through the real check.
        return host if host == "127.0.0.1" else real(host, port, allow_private)

    monkeypatch.setattr(net, "check_address", public_by_ip)
    ok = fetch(site.url + "/a.html", allow_private=False, timeout=2, max_bytes=10**6)
    assert ok.status == 200
    with pytest.raises(FetchError, match=r"localhost resolves to .* refused"):
        fetch(site.url + "/to-localhost", allow_private=False, timeout=2, max_bytes=10**6)
    with pytest.raises(FetchError, match="only http:// and https://"):
        fetch(site.url + "/to-ftp", allow_private=False, timeout=2, max_bytes=10**6)


def test_non_http_sources_are_refused(workspace: Workspace) -> None:
    with pytest.raises(SourceError, match="file:// scheme is not supported"):
        workspace.sources.add("file:///etc/passwd")
