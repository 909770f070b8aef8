"""The shared password: a constant-time comparison and a delay after each failure."""

from __future__ import annotations

import asyncio
import hmac

FAILURE_DELAY_S = 1.0  # per failed attempt, and attempts take turns: ~1 guess/s overall


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
