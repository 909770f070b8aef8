"""Signed sessions and the password gate (no I/O: a fake clock, no server)."""

from __future__ import annotations

import asyncio
import base64
import json
import time

from ragstream.auth import PasswordGate, SessionStore, password_matches


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_issued_cookie_verifies_until_it_expires() -> None:
    clock = Clock()
    store = SessionStore(hours=1, clock=clock)
    cookie, session = store.issue("ann")
    assert store.verify(cookie) == session and session.user == "ann"
    clock.now += 3599
    assert store.verify(cookie) == session
    clock.now += 2
    assert store.verify(cookie) is None


def test_forged_tampered_and_foreign_cookies_are_refused() -> None:
    store = SessionStore(secret=b"k" * 32)
    cookie, _ = store.issue("user")
    payload, signature = cookie.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["exp"] = time.time() + 10 * 365 * 86400  # extend my own session: re-encode
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    assert store.verify(f"{forged}.{signature}") is None
    assert store.verify(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    other, _ = SessionStore(secret=b"x" * 32).issue("user")
    assert store.verify(other) is None  # signed with another secret
    for junk in ("", "abc", "a.b.c", "é.é", ".", "eyJ9.", None):
        assert store.verify(junk) is None


def test_revoked_session_is_refused_though_its_signature_is_good() -> None:
    store = SessionStore()
    cookie, session = store.issue("user")
    other, _ = store.issue("user")
    store.revoke(session)
    assert store.verify(cookie) is None
    assert store.verify(other) is not None  # only that session ends


def test_a_secret_given_twice_keeps_sessions_across_stores() -> None:
    cookie, _ = SessionStore(secret=b"s" * 32).issue("user")
    assert SessionStore(secret=b"s" * 32).verify(cookie) is not None


def test_password_comparison_and_delay_after_a_failure() -> None:
    assert password_matches("open sesame", "open sesame")
    assert not password_matches("open sesam", "open sesame")
    assert not password_matches("", "open sesame")
    assert password_matches("pässwörd", "pässwörd")

    async def attempts() -> tuple[float, float, bool, bool]:
        gate = PasswordGate("right", delay_s=0.2)
        start = time.perf_counter()
        ok = await gate.check("right")
        quick = time.perf_counter() - start
        start = time.perf_counter()
        # Three guesses in parallel take turns: about 3 x the delay, not 1 x.
        results = await asyncio.gather(*(gate.check("wrong") for _ in range(3)))
        slow = time.perf_counter() - start
        return quick, slow, ok, any(results)

    quick, slow, ok, any_wrong_accepted = asyncio.run(attempts())
    assert ok and not any_wrong_accepted
    assert quick < 0.1 and slow >= 0.55
