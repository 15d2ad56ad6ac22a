"""LocalBlobStore: content addressing, atomic commit, ranges, and no path from untrusted keys."""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ria.errors import InvalidParameterError, NotFoundError
from ria.sample import find_test_file
from ria.storage import BlobStore, LocalBlobStore


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def test_is_a_blob_store(store: LocalBlobStore) -> None:
    assert isinstance(store, BlobStore)


def test_put_addresses_by_sha256_of_real_dicom(store: LocalBlobStore) -> None:
    data = find_test_file("CT_small.dcm").read_bytes()
    info = store.put(io.BytesIO(data))
    assert info.key == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    assert store.exists(info.key)
    assert store.get(info.key) == data
    assert store.size(info.key) == len(data)


def test_put_same_bytes_twice_keeps_one_object(store: LocalBlobStore) -> None:
    first = store.put(io.BytesIO(b"abc" * 1000))
    second = store.put(io.BytesIO(b"abc" * 1000))
    assert first == second
    assert list(store.iter_keys()) == [first.key]
    assert list((store.root / "staging").iterdir()) == []


def test_staged_blob_is_invisible_until_commit(store: LocalBlobStore) -> None:
    staged = store.stage(io.BytesIO(b"not yet"))
    assert staged.path.read_bytes() == b"not yet"
    assert not store.exists(staged.key)
    store.discard(staged)
    assert not staged.path.exists()
    assert not store.exists(staged.key)


def test_commit_replaces_a_damaged_object_of_the_wrong_size(store: LocalBlobStore) -> None:
    info = store.put(io.BytesIO(b"0123456789"))
    damaged = store.root / "objects" / info.key[:2] / info.key
    damaged.write_bytes(b"")
    store.put(io.BytesIO(b"0123456789"))
    assert store.get(info.key) == b"0123456789"


@given(data=st.binary(min_size=0, max_size=5000), start=st.integers(0, 5000), length=st.integers(0, 5000))
@settings(max_examples=60, deadline=None)
def test_open_range_matches_slicing(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, start: int, length: int
) -> None:
    store = LocalBlobStore(tmp_path_factory.mktemp("ranges"))
    key = store.put(io.BytesIO(data)).key
    start = min(start, len(data))
    end = start + length
    assert b"".join(store.open_range(key, start, end)) == data[start:end]


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "abc", "/" + "0" * 63, "0" * 63 + "\n", ""])
def test_untrusted_keys_never_become_paths(store: LocalBlobStore, key: str) -> None:
    for call in (store.exists, store.get, store.delete, store.size, store.open):
        with pytest.raises(InvalidParameterError):
            call(key)


def test_missing_blob_is_not_found(store: LocalBlobStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("0" * 64)
    store.delete("0" * 64)  # deleting a missing object is fine


def test_store_pickles_for_worker_processes(store: LocalBlobStore) -> None:
    clone = pickle.loads(pickle.dumps(store))
    info = clone.put(io.BytesIO(b"shared"))
    assert store.get(info.key) == b"shared"


def test_clear_staging_removes_only_stale_files(store: LocalBlobStore) -> None:
    stale = store.stage(io.BytesIO(b"old"))
    fresh = store.stage(io.BytesIO(b"new"))
    import os

    os.utime(stale.path, (0, 0))
    assert store.clear_staging(older_than_seconds=60) == 1
    assert not stale.path.exists()
    assert fresh.path.exists()
