"""Password hashing: argon2id (argon2-cffi) for new hashes, earlier scrypt hashes still verified.

The parameters are OWASP's first recommended argon2id configuration (Password Storage
Cheat Sheet): m=19 MiB, t=2, p=1. Chosen over RFC 9106's low-memory profile (64 MiB, t=3,
p=4, argon2-cffi's default) because the token endpoint is public: every sign-in attempt,
right or wrong, costs one hash, and at 64 MiB x 4 lanes a burst of attempts on a small
server (two cores) ties up memory and every core, while 19 MiB on one lane costs about
what the earlier scrypt did and still meets OWASP's bar for argon2id.

Hashes are self-describing (PHC strings, ``$argon2id$v=19$m=19456,t=2,p=1$salt$digest``),
so raising the cost later keeps every stored password verifiable: :func:`needs_rehash`
says when a stored hash is weaker than today's choice, and sign-in (:mod:`ria.access.users`)
replaces it while it holds the plain password. Hashes written before argon2id have the
form ``scrypt$n$r$p$salt$digest`` (N=2^14, r=8, p=1; below OWASP's scrypt minimum of
N=2^17); they verify until their owner's next sign-in re-hashes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MIN_PASSWORD_LENGTH", "hash_password", "needs_rehash", "verify_password"]

MIN_PASSWORD_LENGTH = 8

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
# A real hash of a random password: verifying against it costs what a real account costs.
_DUMMY = _HASHER.hash("no account has this password: it only makes refusals cost one hash")
_ARGON2 = "$argon2id$"
_SCRYPT = "scrypt$"
# 128 * n * r bytes of memory, with room for the larger legacy parameters scrypt hashes may carry.
_SCRYPT_MAX_MEMORY = 256 * 1024 * 1024


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; two calls never give the same string (fresh salt)."""
    return _HASHER.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    """A legacy ``scrypt$n$r$p$salt$digest`` hash; constant-time comparison of the digests."""
    parts = stored.split("$")
    if len(parts) != 6:
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=n,
            r=r,
            p=p,
            dklen=len(expected),
            maxmem=_SCRYPT_MAX_MEMORY,
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (argon2id or legacy scrypt); a missing hash never does.

    A missing or unrecognised hash still costs one argon2id verification, so the answer's
    timing does not say whether the account exists or has a password; argon2's own
    comparison of the digests is constant-time, as is the scrypt one (:func:`hmac.compare_digest`).
    """
    if stored is not None and stored.startswith(_SCRYPT):
        return _verify_scrypt(password, stored)
    if stored is None or not stored.startswith(_ARGON2):
        _verify_argon2(password, _DUMMY)
        return False
    return _verify_argon2(password, stored)


def _verify_argon2(password: str, stored: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` (known to verify) should be replaced by :func:`hash_password`'s choice.

    True for every scrypt hash and for argon2 hashes made with other parameters than
    today's (:meth:`argon2.PasswordHasher.check_needs_rehash`).
    """
    if not stored.startswith(_ARGON2):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True
