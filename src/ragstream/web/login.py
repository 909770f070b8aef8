"""The login page the gateway serves before anything of Streamlit's: a password form,
and a link to Streamlit's OIDC login when secrets.toml configures one."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

MAX_FORM_BYTES = 4096  # a password form; anything bigger is not one

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RAGstream: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f6f7f9;display:flex;justify-content:center;
margin:0;padding-top:12vh}}
main{{background:#fff;padding:2rem 2.5rem;border-radius:10px;box-shadow:0 1px 4px #0002;
min-width:18rem}}
h1{{font-size:1.4rem;margin:0 0 1rem}} label{{display:block;margin-bottom:.3rem}}
input{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}
button,a.button{{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem;background:#ff4b4b;
color:#fff;border:0;border-radius:6px;cursor:pointer;text-decoration:none;display:inline-block}}
.error{{color:#b00020;margin-top:1rem}}
</style></head><body><main><h1>RAGstream</h1>{body}</main></body></html>"""

_PASSWORD_FORM = """<form method="post" action="/login">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus>
<input type="hidden" name="next" value="{next}">
<button type="submit">Enter</button>{error}</form>"""

_OIDC_LINK = """<p>Sign in to ask your documents.</p>
<a class="button" href="/auth/login">Log in</a>"""


def safe_next(target: str | None) -> str:
    """Only a path on this site (no `//host`, no scheme): no open redirect via ?next=."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_page(next_path: str, *, password: bool, oidc: bool, error: str = "") -> HTMLResponse:
    parts = []
    if oidc:
        parts.append(_OIDC_LINK)
    if password and not oidc:
        shown = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        parts.append(_PASSWORD_FORM.format(next=html.escape(next_path), error=shown))
    status = 401 if error else 200
    return HTMLResponse(_PAGE.format(body="\n".join(parts)), status_code=status)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


async def read_form(request: Request) -> dict[str, str] | Response:
    """The posted form, read with a size cap (the body is never buffered beyond it)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        return PlainTextResponse("Login form too large.", status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return PlainTextResponse("Login form too large.", status_code=413)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}
