"""Sign-ins kept in PostgreSQL: two gateways on one database act as two replicas behind a
load balancer. A visitor signed in on one is signed in on the other; a logout on either
ends the session on both; the table holds no usable cookie."""

from __future__ import annotations

import psycopg
import pytest

from ragstream.auth import COOKIE_NAME
from ragstream.auth.shared_sessions import PostgresSessionStore
from ragstream.web.gateway import create_app
from tests.support.asgi import NOWHERE, call

pytestmark = pytest.mark.postgres
PASSWORD = "fleet-shared-pw-1"


def replica(url: str) -> object:
    # recheck 0: every request asks the database, so a logout elsewhere shows at once
    return create_app(NOWHERE, PASSWORD, sessions=PostgresSessionStore(url, recheck_s=0))


def test_a_sign_in_on_one_replica_is_valid_on_another_and_logout_ends_it_on_both(
    postgres_url: str,
) -> None:
    a, b = replica(postgres_url), replica(postgres_url)
    assert call(b, "GET", "/_stcore/host-config").status_code == 401
    reply = call(a, "POST", "/login", data={"name": "", "password": PASSWORD})
    assert reply.status_code == 303, reply.text
    cookie = {COOKIE_NAME: reply.cookies[COOKIE_NAME]}
    for app in (a, b):  # 502: let through to the (closed) upstream, not refused
        assert call(app, "GET", "/_stcore/host-config", cookies=cookie).status_code == 502
    assert call(b, "POST", "/logout", cookies=cookie).status_code == 303
    for app in (a, b):
        assert call(app, "GET", "/_stcore/host-config", cookies=cookie).status_code == 401
    with psycopg.connect(postgres_url) as conn:
        stored = conn.execute("SELECT sid_sha256, user_name FROM web_sessions").fetchall()
    assert len(stored) == 1 and stored[0][1] == "user"
    assert cookie[COOKIE_NAME] not in stored[0][0]  # only its digest is kept


def test_unknown_forged_expired_and_oversized_cookies_are_refused(postgres_url: str) -> None:
    now = [1_000_000.0]
    store = PostgresSessionStore(postgres_url, hours=1, recheck_s=60, clock=lambda: now[0])
    cookie, session = store.issue("alice")
    assert store.verify(cookie) == session and session.user == "alice"
    assert store.verify(cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None
    assert store.verify("x" * 10_000) is None and store.verify(None) is None
    now[0] += 3601  # past its expiry, even though this replica saw it a moment ago
    assert store.verify(cookie) is None
    other = PostgresSessionStore(postgres_url, hours=1, recheck_s=0, clock=lambda: now[0])
    assert other.verify(cookie) is None
    other.issue("bob")  # a new sign-in clears ended sessions from the table
    with psycopg.connect(postgres_url) as conn:
        users = [r[0] for r in conn.execute("SELECT user_name FROM web_sessions")]
    assert users == ["bob"]


def test_a_logout_elsewhere_reaches_a_replica_within_its_recheck_time(postgres_url: str) -> None:
    now = [5_000.0]
    cached = PostgresSessionStore(postgres_url, recheck_s=5, clock=lambda: now[0])
    other = PostgresSessionStore(postgres_url, recheck_s=5, clock=lambda: now[0])
    cookie, _ = cached.issue("carol")
    session = cached.verify(cookie)
    assert session is not None
    other.revoke(session)
    assert other.verify(cookie) is None  # the replica that logged out knows at once
    now[0] += 5
    assert cached.verify(cookie) is None
