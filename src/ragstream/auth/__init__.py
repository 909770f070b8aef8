"""Who may come in: the shared password and signed, expiring sessions.

One module for every door (the web gateway in front of Streamlit, and the HTTP API):
`password_matches` / `PasswordGate` for the password, `SessionStore` for the cookie
(`shared_sessions.PostgresSessionStore` when replicas share a database).
It imports nothing from the doors, so any of them may import it.
"""

from ragstream.auth.network import is_loopback
from ragstream.auth.passwords import (
    FAILURE_DELAY_S,
    AccountGate,
    Login,
    PasswordGate,
    password_matches,
    shared_password_login,
)
from ragstream.auth.sessions import (
    COOKIE_NAME,
    SESSION_HOURS,
    USER_HEADER,
    Session,
    Sessions,
    SessionStore,
)

__all__ = [
    "COOKIE_NAME",
    "FAILURE_DELAY_S",
    "SESSION_HOURS",
    "USER_HEADER",
    "AccountGate",
    "Login",
    "PasswordGate",
    "Session",
    "SessionStore",
    "Sessions",
    "is_loopback",
    "password_matches",
    "shared_password_login",
]
