"""The blob-store interface every caller uses.

Objects are addressed by the SHA-256 of their content, never by a UID or a file
name supplied by a sender, so no untrusted string ever becomes a path or an
object key. Writes go through two steps — :meth:`BlobStore.stage` then
:meth:`BlobStore.commit` — so ingest can read and validate an object *before*
it becomes visible, and so a crash leaves at worst stray staging data or an
unreferenced object, never a half-written one under a real key.

Visibility and durability are explicit, because batching them is what makes
ingest fast: :meth:`BlobStore.flush` publishes what this process committed to
other processes, and :meth:`BlobStore.sync` is the barrier the catalogue
crosses before it commits rows that reference new objects.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from ria.errors import InvalidParameterError, StorageError

__all__ = ["CHUNK_SIZE", "BlobInfo", "BlobStore", "StagedBlob", "spool", "validate_key"]

CHUNK_SIZE = 1 << 20
_KEY = re.compile(r"^[0-9a-f]{64}$")


def validate_key(key: str) -> str:
    """Return ``key`` if it is a well-formed content hash; raise otherwise.

    Every store method calls this before touching storage, which is what makes
    path traversal through a key impossible.
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidParameterError("key", f"blob key must be 64 lowercase hex digits, got {key!r}")
    return key


@dataclass(frozen=True)
class BlobInfo:
    """What the store knows about one committed object."""

    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class StagedBlob:
    """Bytes hashed and held back, not yet visible under their key.

    Small objects are held in memory (``data``); larger ones in a local staging
    file (``path``). Either way :meth:`open` reads them back, e.g. to parse a
    DICOM header, until the blob is committed or discarded.
    """

    size: int
    sha256: str
    md5: str
    crc32: int
    data: bytes | None = None
    path: Path | None = None

    @property
    def key(self) -> str:
        return self.sha256

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is None:
            raise StorageError("staged blob has neither data nor a staging file")
        return open(self.path, "rb")

    def release(self) -> None:
        """Remove the staging file, if any."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def spool(stream: BinaryIO, staging: Path, memory_limit: int) -> StagedBlob:
    """Hash ``stream``; keep it in memory up to ``memory_limit`` bytes, else in ``staging``.

    Memory stays bounded by ``memory_limit + CHUNK_SIZE`` whatever the stream's size.
    """
    digest = hashlib.sha256()
    # MD5 rides along because TCIA's API serves per-image MD5s; hashing here costs one pass less.
    md5 = hashlib.md5(usedforsecurity=False)
    crc = 0
    parts: list[bytes] = []
    held = 0
    while held <= memory_limit:
        chunk = stream.read(CHUNK_SIZE)
        if not chunk:
            data = b"".join(parts)
            return StagedBlob(
                size=len(data), sha256=digest.hexdigest(), md5=md5.hexdigest(), crc32=crc, data=data
            )
        digest.update(chunk)
        md5.update(chunk)
        crc = zlib.crc32(chunk, crc)
        parts.append(chunk)
        held += len(chunk)
    path = staging / f"{uuid.uuid4().hex}.part"
    size = 0
    try:
        with open(path, "wb") as out:
            for part in parts:
                out.write(part)
                size += len(part)
            parts.clear()
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
                md5.update(chunk)
                crc = zlib.crc32(chunk, crc)
                out.write(chunk)
                size += len(chunk)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise StorageError(f"could not stage blob: {exc.strerror or exc}") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedBlob(size=size, sha256=digest.hexdigest(), md5=md5.hexdigest(), crc32=crc, path=path)


def iter_range(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` of an object, in chunks, validated before any is read."""
    size = store.size(key)
    stop = size if end is None else min(end, size)
    if start < 0 or start > stop:
        raise StorageError(f"invalid byte range {start}-{end} for blob of {size} bytes")
    return _iter_open(store, key, start, stop)


def _iter_open(store: BlobStore, key: str, start: int, stop: int) -> Iterator[bytes]:
    with store.open(key) as handle:
        handle.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                raise StorageError(f"blob {key} ended early")
            remaining -= len(chunk)
            yield chunk


def clear_stale(staging: Path, older_than_seconds: float, now: float) -> int:
    """Remove ``*.part`` files older than the cut-off; return how many."""
    removed = 0
    for item in staging.glob("*.part"):
        try:
            if item.stat().st_mtime < now - older_than_seconds:
                item.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed object storage.

    Implementations must be picklable (ingest workers receive the store; each
    process gets its own handles) and safe to use from several processes.
    """

    def stage(self, stream: BinaryIO) -> StagedBlob:
        """Hash ``stream`` into staging in bounded memory."""
        ...

    def commit(self, staged: StagedBlob) -> BlobInfo:
        """Store a staged blob under its key (idempotent if the key exists)."""
        ...

    def discard(self, staged: StagedBlob) -> None:
        """Throw a staged blob away."""
        ...

    def put(self, stream: BinaryIO) -> BlobInfo:
        """Stage, commit and flush in one step."""
        ...

    def flush(self) -> None:
        """Make every object this process committed visible to other processes (and durable if configured)."""
        ...

    def sync(self) -> None:
        """Barrier before the catalogue commits rows referencing objects committed by any process."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable binary file holding exactly the object."""
        ...

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start`` (inclusive) to ``end`` (exclusive) in chunks."""
        ...

    def read_objects(self, keys: Sequence[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
        """Stream many objects in order: ``(key, chunks)`` pairs, each ``chunks`` to be read to its end
        before the next pair is asked for. Serving a series costs per-object overhead far more than
        bytes, so implementations may look keys up in batches and keep files open across objects."""
        ...

    def get(self, key: str) -> bytes:
        """The whole object in memory: for small objects only."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def age(self, key: str) -> float:
        """Seconds since the object was last committed (``gc`` spares young objects)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every committed key, in ascending order (maintenance merges it with the catalogue's)."""
        ...

    def clear_staging(self, older_than_seconds: float = 3600.0) -> int:
        """Remove stale staging files left by crashed writers; return how many."""
        ...

    def compact(self) -> int:
        """Reclaim space held by deleted objects; return bytes reclaimed."""
        ...
