"""Who may use the page: Streamlit's OIDC login, else a shared password, else a warning.

The gate runs before anything else is drawn, so an unauthenticated visitor sees no
document, no answer, and cannot spend the OpenAI key.
"""

from __future__ import annotations

import hmac
import time

import streamlit as st

FAILURE_DELAY_S = 1.0  # slows guessing; per attempt, so it also holds across sessions
AUTH_KEY = "ragstream_authenticated"


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so the time taken says nothing about the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def oidc_configured() -> bool:
    """True when secrets.toml has an [auth] section (Streamlit's st.login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no or unreadable secrets.toml: Streamlit raises its own types
        return False


def require_access(password: str | None) -> None:
    """Draw the gate and stop the script until the visitor is let in."""
    if oidc_configured():
        if not st.user.is_logged_in:
            st.title("RAGstream")
            st.info("Sign in to ask your documents.")
            st.button("Log in", on_click=st.login, type="primary")
            st.stop()
        return
    if not password:
        st.warning(
            "This app is open to anyone who can reach it: set RAGSTREAM_PASSWORD "
            "(or RAGSTREAM_PASSWORD_FILE) or configure st.login in secrets.toml.",
            icon=":material/lock_open:",
        )
        return
    if st.session_state.get(AUTH_KEY):
        return
    st.title("RAGstream")
    with st.form("password_gate"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Enter", type="primary")
    if submitted:
        if password_matches(given, password):
            st.session_state[AUTH_KEY] = True
            st.rerun()
        time.sleep(FAILURE_DELAY_S)
        st.error("Wrong password.")
    st.stop()
