"""The access policy (pure) and local passwords (scrypt)."""

from __future__ import annotations

import pytest

from ragstream.access import Identity, allowed, may, narrow, require, require_admin
from ragstream.errors import AccessDenied
from ragstream.models import Membership
from ragstream.passwords import check_strength, hash_password, verify_password

ALICE = Identity("alice", groups=("devs",))
MEMBERS = [
    Membership("eng", "user:alice", "viewer"),
    Membership("eng", "group:devs", "editor"),  # the best role of user and groups counts
    Membership("hr", "group:hr", "owner"),
    Membership("ops", "user:alice", "owner"),
]


def mine(identity: Identity) -> list[Membership]:
    principals = set(identity.principals())
    return [m for m in MEMBERS if m.principal in principals]


@pytest.mark.parametrize(
    ("action", "collections"),
    [("read", ["eng", "ops"]), ("write", ["eng", "ops"]), ("manage", ["ops"])],
)
def test_roles_include_the_lower_ones(action: str, collections: list[str]) -> None:
    assert allowed(ALICE, action, mine(ALICE)) == collections  # type: ignore[arg-type]


def test_admin_and_the_local_cli_may_do_everything() -> None:
    for who in (None, Identity("root", admin=True)):
        assert allowed(who, "manage", []) is None
        assert may(who, "write", "anything", [])
        require_admin(who, "add users")


def test_nobody_else_gets_anything_by_default() -> None:
    stranger = Identity("mallory", groups=("interns",))
    assert allowed(stranger, "read", mine(stranger)) == []
    with pytest.raises(AccessDenied, match="mallory may not read collection hr"):
        require(stranger, "read", "hr", mine(stranger))
    with pytest.raises(AccessDenied, match="only an admin"):
        require_admin(stranger, "add users")


def test_narrow_refuses_alike_what_is_hidden_and_what_does_not_exist() -> None:
    assert narrow(["eng", "ops"], None) == ["eng", "ops"]
    assert narrow(["eng", "ops"], ["ops", "ops"]) == ["ops"]
    assert narrow(None, ["x"]) == ["x"]
    messages = []
    for name in ("hr", "no-such-thing"):
        with pytest.raises(AccessDenied) as info:
            narrow(["eng"], [name])
        messages.append(str(info.value).replace(name, "NAME"))
    assert messages[0] == messages[1]


def test_passwords_are_salted_scrypt_and_verify_in_constant_time() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$15$8$1$")
    assert "correct horse" not in first
    assert verify_password("correct horse", first)
    assert not verify_password("correct horsE", first)
    for broken in ("", "scrypt$", "md5$1$2$3$4$5", "scrypt$40$8$1$AA==$AA==", first[:-4]):
        assert not verify_password("correct horse", broken)
    assert check_strength("short") and check_strength("long enough") is None
