"""Password hashes: argon2id at OWASP's cost, legacy scrypt still verified; checked with argon2-cffi."""

from __future__ import annotations

import hmac
from collections.abc import Callable

import argon2
import pytest

from ria.access.passwords import hash_password, needs_rehash, verify_password
from tests.access.conftest import scrypt_hash

PASSWORD = "correct horse battery"


def test_new_hashes_are_argon2id_with_owasps_parameters() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and PASSWORD not in first  # a fresh salt each time
    parameters = argon2.extract_parameters(first)
    assert parameters.type is argon2.Type.ID
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19 * 1024, 2, 1)
    assert (parameters.salt_len, parameters.hash_len) == (16, 32)
    # argon2-cffi, configured independently (its defaults differ), verifies what Ria wrote.
    assert argon2.PasswordHasher().verify(first, PASSWORD)
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        argon2.PasswordHasher().verify(first, PASSWORD + "!")
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not needs_rehash(first)


@pytest.mark.parametrize("make", [hash_password, scrypt_hash], ids=["argon2id", "legacy-scrypt"])
def test_only_the_right_password_verifies_in_either_format(make: Callable[[str], str]) -> None:
    stored = make(PASSWORD)
    assert verify_password(PASSWORD, stored)
    for wrong in (PASSWORD + "!", PASSWORD.upper(), "", PASSWORD[:-1]):
        assert not verify_password(wrong, stored)


def test_legacy_and_weaker_hashes_need_a_rehash() -> None:
    assert needs_rehash(scrypt_hash(PASSWORD))
    cheaper = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert verify_password(PASSWORD, cheaper) and needs_rehash(cheaper)
    argon2i = argon2.PasswordHasher(type=argon2.Type.I).hash(PASSWORD)
    assert needs_rehash(argon2i)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "md5$abc",
        "scrypt$16384$8$1$onlyfive",
        "scrypt$x$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$not base64!$AAAA",
        "$argon2id$v=19$m=19456,t=2,p=1$garbage",
    ],
)
def test_a_missing_or_malformed_hash_never_matches(stored: str | None) -> None:
    assert not verify_password(PASSWORD, stored)
    assert not verify_password("", stored)


def test_refusals_cost_one_argon2id_verification_with_the_real_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No timing: count the work. A missing hash is verified against a real hash of today's cost."""
    verified: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(str(hash))
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    stored = hash_password(PASSWORD)
    for candidate in (stored, None, "md5$abc"):
        verified.clear()
        verify_password("a wrong password", candidate)
        assert len(verified) == 1
        assert argon2.extract_parameters(verified[0]) == argon2.extract_parameters(stored)


def test_scrypt_digests_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)  # looked up at each call
    stored = scrypt_hash(PASSWORD)
    assert verify_password(PASSWORD, stored) and not verify_password("wrong password", stored)
    assert len(compared) == 2
