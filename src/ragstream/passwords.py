"""Local account passwords: scrypt (memory-hard, salted), stored as one self-describing string.

    scrypt$<log2 n>$<r>$<p>$<salt, base64>$<key, base64>

The cost parameters travel with each hash, so raising them later keeps old hashes valid.
Verification compares in constant time. Only hashes reach the store; no password is
ever logged or shown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

LOG2_N, R, P = 15, 8, 1  # 32 MiB and ~0.1 s per hash on this class of CPU
KEY_BYTES, SALT_BYTES = 32, 16
MIN_LENGTH = 8


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=2**log2_n,
        r=r,
        p=p,
        maxmem=2 * 128 * r * 2**log2_n + 2**20,
        dklen=KEY_BYTES,
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, LOG2_N, R, P)
    encoded = [base64.b64encode(x).decode() for x in (salt, key)]
    return "$".join(["scrypt", str(LOG2_N), str(R), str(P), *encoded])


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored` (a malformed hash never matches)."""
    try:
        scheme, log2_n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt" or not (10 <= int(log2_n) <= 20):
            return False
        expected = base64.b64decode(key)
        got = _scrypt(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def check_strength(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    return None
