"""What one sign-in costs: Ria's argon2id next to argon2-cffi's RFC 9106 profile and the scrypt it replaced.

Why: every attempt at ``POST /nbia-api/oauth/token``, right or wrong, costs one password
verification, so the hash's cost is both the attacker's price per guess on a stolen
catalogue and the server's price per attempt. Ria uses OWASP's argon2id parameters
(m=19 MiB, t=2, p=1); this prints, for each scheme, the memory one verification needs,
its median time on one thread, and verifications per second with every core busy
(``--threads``, default the CPU count), so the choice can be checked on the machine at hand.

Usage::

    python bench/password_hashing.py [--repeats N] [--threads T]

Peers: argon2-cffi's default (RFC 9106 low-memory: m=64 MiB, t=3, p=4), scrypt as Ria
stored it before (N=2^14, r=8, p=1) and scrypt at OWASP's minimum (N=2^17, r=8, p=1),
all through the same libraries Ria uses (argon2-cffi, :func:`hashlib.scrypt`).
The exit status is 0 whatever the figures (this is a benchmark).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import argon2

from ria.access.passwords import hash_password, verify_password

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Scheme:
    name: str
    memory_mib: float
    verify: Callable[[], bool]


def _argon2(hasher: argon2.PasswordHasher) -> Callable[[], bool]:
    stored = hasher.hash(PASSWORD)
    return lambda: hasher.verify(stored, PASSWORD)


def _scrypt(n: int) -> Callable[[], bool]:
    salt = secrets.token_bytes(16)

    def derive() -> bytes:
        return hashlib.scrypt(PASSWORD.encode(), salt=salt, n=n, r=8, p=1, dklen=32, maxmem=256 * 2**20)

    expected = derive()
    return lambda: derive() == expected


def schemes() -> list[Scheme]:
    ria = hash_password(PASSWORD)
    ria_memory = argon2.extract_parameters(ria).memory_cost / 1024
    low = argon2.PasswordHasher.from_parameters(argon2.profiles.RFC_9106_LOW_MEMORY)
    return [
        Scheme("Ria: argon2id m=19MiB t=2 p=1 (OWASP)", ria_memory, lambda: verify_password(PASSWORD, ria)),
        Scheme("argon2id m=64MiB t=3 p=4 (RFC 9106 low-mem)", 64, _argon2(low)),
        Scheme("scrypt N=2^14 r=8 p=1 (Ria before)", 128 * 2**14 * 8 / 2**20, _scrypt(2**14)),
        Scheme("scrypt N=2^17 r=8 p=1 (OWASP scrypt)", 128 * 2**17 * 8 / 2**20, _scrypt(2**17)),
    ]


def one_thread(verify: Callable[[], bool], repeats: int) -> float:
    """Median seconds of one verification."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        assert verify()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def all_cores(verify: Callable[[], bool], threads: int, repeats: int) -> float:
    """Verifications per second with ``threads`` at once (argon2-cffi and hashlib release the GIL)."""
    jobs = threads * repeats
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        assert all(pool.map(lambda _: verify(), range(jobs)))
    return jobs / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"{'scheme':46} {'memory':>8} {'1 thread (median)':>18} {f'{args.threads} threads':>14}")
    for scheme in schemes():
        median = one_thread(scheme.verify, args.repeats)
        rate = all_cores(scheme.verify, args.threads, max(1, args.repeats // 3))
        print(f"{scheme.name:46} {scheme.memory_mib:6.0f}MiB {median * 1000:15.1f} ms {rate:9.1f} /s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
