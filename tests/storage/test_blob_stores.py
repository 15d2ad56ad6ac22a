"""Every BlobStore implementation passes the same contract, on real DICOM bytes.

The suite runs against each backend; a future S3 store joins the parametrisation.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ria.errors import InvalidParameterError, NotFoundError, StorageError
from ria.sample import find_test_file
from ria.storage import BlobStore, FileBlobStore, PackBlobStore, open_blob_store


@pytest.fixture(params=["pack", "files"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    opened = open_blob_store(request.param, tmp_path / "blobs")
    yield opened
    close = getattr(opened, "close", None)
    if close is not None:
        close()


def test_is_a_blob_store(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)


def test_put_addresses_by_sha256_of_real_dicom(store: BlobStore) -> None:
    data = find_test_file("CT_small.dcm").read_bytes()
    info = store.put(io.BytesIO(data))
    assert info.key == hashlib.sha256(data).hexdigest()
    assert (info.size, store.size(info.key)) == (len(data), len(data))
    assert store.exists(info.key)
    assert store.get(info.key) == data
    with store.open(info.key) as handle:
        handle.seek(128)
        assert handle.read(4) == b"DICM"
        handle.seek(-10, os.SEEK_END)
        assert handle.read() == data[-10:]


def test_put_same_bytes_twice_keeps_one_object(store: BlobStore) -> None:
    first = store.put(io.BytesIO(b"abc" * 1000))
    second = store.put(io.BytesIO(b"abc" * 1000))
    assert first == second
    assert list(store.iter_keys()) == [first.key]


def test_staged_blob_is_invisible_until_commit(store: BlobStore) -> None:
    staged = store.stage(io.BytesIO(b"not yet"))
    with staged.open() as handle:
        assert handle.read() == b"not yet"
    assert not store.exists(staged.key)
    store.discard(staged)
    assert not store.exists(staged.key)


def test_large_objects_spill_to_staging_and_round_trip(store: BlobStore) -> None:
    data = os.urandom(9 << 20)  # larger than the in-memory staging limit
    staged = store.stage(io.BytesIO(data))
    assert staged.data is None and staged.path is not None and staged.path.is_file()
    info = store.commit(staged)
    store.flush()
    assert not staged.path.exists()
    assert hashlib.sha256(b"".join(store.open_range(info.key))).digest() == hashlib.sha256(data).digest()


@given(data=st.binary(min_size=0, max_size=5000), start=st.integers(0, 5000), length=st.integers(0, 5000))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_open_range_matches_slicing(store: BlobStore, data: bytes, start: int, length: int) -> None:
    key = store.put(io.BytesIO(data)).key
    start = min(start, len(data))
    assert b"".join(store.open_range(key, start, start + length)) == data[start : start + length]


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "abc", "/" + "0" * 63, "0" * 63 + "\n", ""])
def test_untrusted_keys_never_become_paths(store: BlobStore, key: str) -> None:
    for call in (store.exists, store.get, store.delete, store.size, store.open, store.age):
        with pytest.raises(InvalidParameterError):
            call(key)


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("0" * 64)
    with pytest.raises(NotFoundError):
        store.size("0" * 64)
    store.delete("0" * 64)  # deleting a missing object is fine


def test_delete_then_compact_reclaims_space_and_keeps_the_rest(store: BlobStore) -> None:
    keep = store.put(io.BytesIO(b"keep" * 5000))
    drop = store.put(io.BytesIO(b"drop" * 50000))
    store.delete(drop.key)
    assert not store.exists(drop.key)
    store.compact()
    assert store.get(keep.key) == b"keep" * 5000
    assert list(store.iter_keys()) == [keep.key]


def test_store_pickles_for_worker_processes(store: BlobStore) -> None:
    clone = pickle.loads(pickle.dumps(store))
    info = clone.put(io.BytesIO(b"shared"))
    assert store.get(info.key) == b"shared"


def test_objects_committed_by_another_process_are_visible_after_its_flush(store: BlobStore) -> None:
    assert isinstance(store, PackBlobStore | FileBlobStore)
    root = store.root
    kind = "pack" if isinstance(store, PackBlobStore) else "files"
    script = (
        "import io, sys; from pathlib import Path; from ria.storage import open_blob_store;"
        f"s = open_blob_store({kind!r}, Path({str(root)!r}));"
        "print(s.commit(s.stage(io.BytesIO(b'from another process'))).key); s.flush()"
    )
    key = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert store.get(key) == b"from another process"


def test_age_counts_from_the_last_commit(store: BlobStore) -> None:
    info = store.put(io.BytesIO(b"young"))
    assert 0 <= store.age(info.key) < 60


def test_clear_staging_removes_only_stale_files(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path, memory_limit=0)
    stale = store.stage(io.BytesIO(b"old"))
    fresh = store.stage(io.BytesIO(b"new"))
    assert stale.path is not None and fresh.path is not None
    os.utime(stale.path, (0, 0))
    assert store.clear_staging(older_than_seconds=60) == 1
    assert not stale.path.exists()
    assert fresh.path.exists()


def test_file_store_replaces_a_damaged_object_of_the_wrong_size(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    info = store.put(io.BytesIO(b"0123456789"))
    store.path(info.key).write_bytes(b"")
    store.put(io.BytesIO(b"0123456789"))
    assert store.get(info.key) == b"0123456789"


def test_pack_records_carry_their_own_key_and_length(tmp_path: Path) -> None:
    """An index can be rebuilt from the packs alone: each record names its key and length."""
    store = PackBlobStore(tmp_path)
    payloads = [find_test_file(n).read_bytes() for n in ("CT_small.dcm", "MR_small.dcm")]
    keys = [store.put(io.BytesIO(p)).key for p in payloads]
    store.close()
    (pack,) = (tmp_path / "packs").glob("*.pack")
    blob = pack.read_bytes()
    found, offset = [], 0
    while offset < len(blob):
        assert blob[offset : offset + 4] == b"RIAB"
        digest, length = (
            blob[offset + 4 : offset + 36],
            int.from_bytes(blob[offset + 36 : offset + 44], "little"),
        )
        body = blob[offset + 44 : offset + 44 + length]
        assert hashlib.sha256(body).digest() == digest
        found.append(digest.hex())
        offset += 44 + length
    assert found == keys


def test_pack_compaction_skips_packs_a_live_writer_holds(tmp_path: Path) -> None:
    writer = PackBlobStore(tmp_path)
    info = writer.put(io.BytesIO(b"x" * 1000))
    writer.delete(info.key)
    other = PackBlobStore(tmp_path)
    assert other.compact() == 0  # the writer still holds its pack
    writer.close()
    assert other.compact() > 0
    assert list((tmp_path / "packs").glob("*.pack")) == []
    other.close()


def test_an_archive_reopens_with_the_store_kind_it_was_created_with(tmp_path: Path) -> None:
    from ria.errors import ConfigurationError

    first = open_blob_store("files", tmp_path)
    key = first.put(io.BytesIO(b"kept")).key
    again = open_blob_store(None, tmp_path)
    assert isinstance(again, FileBlobStore)
    assert again.get(key) == b"kept"
    with pytest.raises(ConfigurationError, match="uses the 'files' blob store"):
        open_blob_store("pack", tmp_path)


def test_keys_are_listed_in_ascending_order(store: BlobStore) -> None:
    keys = [store.put(io.BytesIO(str(n).encode() * 50)).key for n in range(40)]
    pending = store.commit(store.stage(io.BytesIO(b"committed, not yet flushed"))).key
    assert list(store.iter_keys()) == sorted([*keys, pending])


def test_a_failed_pack_write_never_leaves_a_wrong_offset(tmp_path: Path) -> None:
    """Simulate a full disk mid-append: later objects still read back exactly."""
    store = PackBlobStore(tmp_path)
    first = store.put(io.BytesIO(b"before the failure" * 100))
    staged = store.stage(io.BytesIO(b"lost in the failure" * 100))
    state = store._process()
    assert state.writer is not None
    real = state.writer.handle

    class Full(io.BufferedWriter):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            real.write(data[: len(data) // 2])  # half of it reaches the file
            raise OSError(28, "No space left on device")

    state.writer.handle = Full(io.BytesIO())
    with pytest.raises(StorageError, match="No space left"):
        store.commit(staged)
    assert not store.exists(staged.key)
    real.flush()
    after = store.put(io.BytesIO(b"after the failure" * 100))
    assert store.get(after.key) == b"after the failure" * 100
    assert store.get(first.key) == b"before the failure" * 100
    store.close()
    real.close()


def test_read_objects_streams_many_in_order(store: BlobStore) -> None:
    blobs = [bytes([n]) * (n * 1000 + 1) for n in range(1, 40)]
    keys = [store.put(io.BytesIO(data)).key for data in blobs]
    order = [*keys[::-1], keys[3]]  # any order, a key twice
    got = [(key, b"".join(chunks)) for key, chunks in store.read_objects(order)]
    assert got == [(key, blobs[keys.index(key)]) for key in order]
    missing = "0" * 64
    pairs = store.read_objects([keys[0], missing])
    _key, chunks = next(pairs)
    assert b"".join(chunks) == blobs[0]
    with pytest.raises(NotFoundError):
        next(pairs)
