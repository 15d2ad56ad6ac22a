"""Password hashing: scrypt with a random salt, its parameters kept in the hash string.

scrypt is memory-hard, so a stolen catalogue is expensive to brute-force, and it is in
the standard library (:func:`hashlib.scrypt`), so there is no native dependency to
install. The cost parameters travel with each hash (``scrypt$n$r$p$salt$digest``): raising
them later keeps every existing password verifiable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["MIN_PASSWORD_LENGTH", "hash_password", "verify_password"]

MIN_PASSWORD_LENGTH = 8
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_KEY_BYTES = 32
# 128 * n * r bytes of memory, with room to spare for parameters raised later.
_MAX_MEMORY = 256 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=_MAX_MEMORY
    )


def hash_password(password: str) -> str:
    """A self-describing hash of ``password``; two calls never give the same string (fresh salt)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _derive(password, salt, _N, _R, _P, _KEY_BYTES)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; a missing or malformed hash never matches.

    The comparison is constant-time, and a missing hash still costs one derivation, so
    the answer's timing says nothing about whether the account exists or has a password.
    """
    parts = (stored or "").split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        _derive(password, b"\0" * _SALT_BYTES, _N, _R, _P, _KEY_BYTES)
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
        actual = _derive(password, salt, n, r, p, len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
