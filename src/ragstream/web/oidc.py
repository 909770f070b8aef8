"""OIDC through Streamlit's own st.login routes, recognised at the gateway.

When secrets.toml has an [auth] section, Streamlit runs the OIDC dance itself
(/auth/login -> provider -> /oauth2callback) and sets `_streamlit_user`, signed with
[auth].cookie_secret. The gateway lets those three routes through and accepts a visitor
whose `_streamlit_user` cookie verifies with the same secret and says logged in; it
never sees the provider's tokens.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Streamlit's auth routes; they must be reachable before a visitor has a session.
PUBLIC_PATHS = ("/auth/login", "/oauth2callback", "/auth/logout")
USER_COOKIE = "_streamlit_user"


@dataclass(frozen=True)
class OidcConfig:
    cookie_secret: str


SECRETS_FILES = (Path("~/.streamlit/secrets.toml"), Path(".streamlit/secrets.toml"))


def load_oidc(files: Sequence[Path] = SECRETS_FILES) -> OidcConfig | None:
    """The [auth] section of Streamlit's secrets.toml, if any (None: OIDC is off).

    Read as Streamlit reads it (the user's file, then the working directory's, the
    latter winning), with tomllib: importing Streamlit here would slow `serve`'s start.
    """
    section: dict[str, object] = {}
    for file in files:
        path = file.expanduser()
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            continue
        except (OSError, tomllib.TOMLDecodeError):  # Streamlit reports it in the page
            continue
        auth = data.get("auth")
        if isinstance(auth, dict):
            section.update(auth)
    secret = section.get("cookie_secret")
    return OidcConfig(str(secret)) if secret else None


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
