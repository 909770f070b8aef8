"""The login page's pure parts: where it may send you back, what it shows."""

from __future__ import annotations

from ragstream.web.login import login_page, safe_next


def test_next_is_a_path_on_this_site_only() -> None:
    assert safe_next("/?x=1") == "/?x=1"
    assert safe_next("/media/abc") == "/media/abc"
    for bad in (None, "", "https://evil.example/", "//evil.example/", "/\\evil", "javascript:x"):
        assert safe_next(bad) == "/"


def test_page_shows_the_password_form_or_the_oidc_link_and_escapes() -> None:
    form = login_page('/"><script>', password=True, oidc=False).body.decode()
    assert 'name="password"' in form and "<script>" not in form
    failed = login_page("/", password=True, oidc=False, error="Wrong password.")
    assert failed.status_code == 401 and "Wrong password." in failed.body.decode()
    oidc = login_page("/", password=True, oidc=True).body.decode()
    assert 'href="/auth/login"' in oidc and 'name="password"' not in oidc
