"""Passwords at the door: a constant-time comparison and a delay after each failure,
for the shared password (`PasswordGate`) and for user accounts (`AccountGate`)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable

FAILURE_DELAY_S = 1.0  # per failed attempt, and attempts take turns: ~1 guess/s overall
# (name or None, password) -> the signed-in user's name, or None; blocking (a hash).
Login = Callable[[str | None, str], str | None]


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so the time taken says nothing about the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class PasswordGate:
    """Checks passwords one at a time and holds the line for FAILURE_DELAY_S after a miss.

    The lock makes the delay global: parallel guesses from many connections queue
    behind each other instead of each waiting its own second side by side.
    """

    def __init__(self, password: str, delay_s: float = FAILURE_DELAY_S) -> None:
        self._password = password
        self._delay_s = delay_s
        self._lock = asyncio.Lock()

    async def check(self, given: str) -> bool:
        async with self._lock:
            if password_matches(given, self._password):
                return True
            await asyncio.sleep(self._delay_s)
            return False


class AccountGate:
    """Sign-ins with a user name and password (or the shared password alone), one at a
    time, with PasswordGate's delay after a miss; `login` runs in a worker thread."""

    def __init__(self, login: Login, delay_s: float = FAILURE_DELAY_S) -> None:
        self._login = login
        self._delay_s = delay_s
        self._lock = asyncio.Lock()

    async def sign_in(self, name: str | None, password: str) -> str | None:
        async with self._lock:
            user = await asyncio.to_thread(self._login, name or None, password)
            if user is None:
                await asyncio.sleep(self._delay_s)
            return user


def shared_password_login(expected: str, user: str) -> Login:
    """The login of a door with only the shared password: no name, that password."""
    return lambda name, given: user if not name and password_matches(given, expected) else None
