"""Who is on the page. The login happens in front of Streamlit, at the gateway
(`ragstream.web.gateway`): a visitor without a session never reaches this script, its
websocket or its upload route. The page only shows who is in and how to leave, and
warns when the app is open to anyone.
"""

from __future__ import annotations

import streamlit as st

from ragstream.auth import USER_HEADER


def oidc_configured() -> bool:
    """True when secrets.toml has an [auth] section (Streamlit's st.login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no or unreadable secrets.toml: Streamlit raises its own types
        return False


def gateway_user() -> str | None:
    """The user the gateway signed in (it sets this header and drops any sent from outside)."""
    try:
        return st.context.headers.get(USER_HEADER)
    except Exception:  # no request context (AppTest)
        return None


def current_user() -> str | None:
    """Whose chats these are: the OIDC e-mail, else the gateway's user, else None (open)."""
    if oidc_configured():
        try:
            email = st.user.get("email") or st.user.get("sub")
        except Exception:  # AppTest or an old Streamlit without st.user details
            email = None
        return str(email) if email else "oidc user"
    return gateway_user()


def oidc_groups(claim: str) -> tuple[str, ...]:
    """The signed-in OIDC user's groups from the ID token's `claim` (RAGSTREAM_GROUPS_CLAIM):
    a list, or one comma/space-separated string, as identity providers differ."""
    try:
        value: object = st.user.get(claim)
    except Exception:  # no st.user details (an old Streamlit, no request)
        return ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple):
        return ()
    return tuple(dict.fromkeys(str(g).strip() for g in value if str(g).strip()))


def require_access(password: str | None) -> None:
    """Stop the script unless the visitor came in through the gateway's login."""
    if oidc_configured():
        # The gateway checked Streamlit's signed user cookie; this is the same check
        # for a page reached some other way (e.g. `streamlit run` on a laptop).
        if not st.user.is_logged_in:
            st.title("RAGstream")
            st.info("Sign in to ask your documents.")
            st.button("Log in", on_click=st.login, type="primary")
            st.stop()
        logout_link()
        return
    if not password:
        st.warning(
            "This app is open to anyone who can reach it: set RAGSTREAM_PASSWORD "
            "(or RAGSTREAM_PASSWORD_FILE) or configure st.login in secrets.toml.",
            icon=":material/lock_open:",
        )
        return
    if gateway_user() is None:
        st.error(
            "Sign in first: open this app through `ragstream serve`, which asks for the password."
        )
        st.stop()
    logout_link()


def logout_link() -> None:
    # A plain same-tab link: the gateway's /logout ends the session and its websocket.
    st.sidebar.markdown('<a href="/logout" target="_self">Log out</a>', unsafe_allow_html=True)
