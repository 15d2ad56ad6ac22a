"""Private keys: made once, owner-only, published whole, and the same for every process that asks."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from ria.errors import ConfigurationError
from ria.keys import KEY_BYTES, load_key


def test_a_key_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    private = tmp_path / "private"
    first = load_key(private, "a.key", purpose="test key")
    assert len(first) == KEY_BYTES == 32
    assert load_key(private, "a.key", purpose="test key") == first
    assert (private / "a.key").read_bytes() == first
    assert stat.S_IMODE(os.stat(private / "a.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(private).st_mode) & 0o077 == 0
    assert load_key(private, "b.key", purpose="test key") != first  # one key per purpose
    assert sorted(path.name for path in private.iterdir()) == ["a.key", "b.key"]  # no temporary left


def test_a_damaged_key_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "a.key").write_bytes(b"short")
    with pytest.raises(ConfigurationError, match="32-byte signing key"):
        load_key(tmp_path, "a.key", purpose="signing key")


def _load(private: str) -> bytes:
    return load_key(Path(private), "shared.key", purpose="test key")


def test_processes_racing_to_create_a_key_all_get_the_same_one(tmp_path: Path) -> None:
    private = tmp_path / "private"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = pool.map(_load, [str(private)] * 16)
    assert len(set(keys)) == 1 and keys[0] == (private / "shared.key").read_bytes()
