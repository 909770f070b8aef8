"""OIDC through Streamlit's own st.login routes, recognised at the gateway.

When secrets.toml has an [auth] section, Streamlit runs the OIDC dance itself
(/auth/login -> provider -> /oauth2callback) and sets `_streamlit_user`, signed with
[auth].cookie_secret. The gateway lets those three routes through and accepts a visitor
whose `_streamlit_user` cookie verifies with the same secret and says logged in; it
never sees the provider's tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

# Streamlit's auth routes; they must be reachable before a visitor has a session.
PUBLIC_PATHS = ("/auth/login", "/oauth2callback", "/auth/logout")
USER_COOKIE = "_streamlit_user"


@dataclass(frozen=True)
class OidcConfig:
    cookie_secret: str


def load_oidc() -> OidcConfig | None:
    """The [auth] section of Streamlit's secrets.toml, if any (None: OIDC is off)."""
    from streamlit.runtime.secrets import secrets_singleton

    try:
        if not secrets_singleton.load_if_toml_exists():
            return None
        section = secrets_singleton.get("auth")
    except Exception:  # an unreadable secrets.toml: Streamlit reports it in the page
        return None
    if not section or not section.get("cookie_secret"):
        return None
    return OidcConfig(str(section["cookie_secret"]))


def signed_in_user(config: OidcConfig, cookies: Mapping[str, str]) -> str | None:
    """The e-mail (or 'oidc user') of a valid, logged-in `_streamlit_user` cookie."""
    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    def single(name: str) -> bytes | None:
        value = cookies.get(name)
        if value is None:
            return None
        return decode_signed_value(config.cookie_secret, name, value)

    try:
        raw = get_cookie_with_chunks(single, USER_COOKIE)
        user = json.loads(raw) if raw else None
    except (ValueError, TypeError):
        return None
    if not isinstance(user, dict) or not user.get("is_logged_in"):
        return None
    return str(user.get("email") or user.get("sub") or "oidc user")
