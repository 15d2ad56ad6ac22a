"""The blob-store interface every caller uses.

Objects are addressed by the SHA-256 of their content, never by a UID or a file
name supplied by a sender, so no untrusted string ever becomes a path or an
object key. Writes go through two steps — :meth:`BlobStore.stage` then
:meth:`BlobStore.commit` — so ingest can read and validate a file *before* it
becomes visible, and so a crash leaves at worst a stray staging file or an
unreferenced object, never a half-written one under a real key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from ria.errors import InvalidParameterError

__all__ = ["CHUNK_SIZE", "BlobInfo", "BlobStore", "StagedBlob", "validate_key"]

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
    """Bytes written to local staging, hashed, not yet visible under their key.

    ``path`` is a local file the caller may read (e.g. to parse a DICOM header)
    until it commits or discards the blob.
    """

    path: Path
    size: int
    sha256: str

    @property
    def key(self) -> str:
        return self.sha256


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed object storage. Implementations must be picklable
    (ingest workers receive the store) and safe to use from several processes."""

    def stage(self, stream: BinaryIO) -> StagedBlob:
        """Copy ``stream`` to local staging in bounded memory, hashing as it goes."""
        ...

    def commit(self, staged: StagedBlob) -> BlobInfo:
        """Make a staged blob visible under its key (atomic; idempotent if it exists)."""
        ...

    def discard(self, staged: StagedBlob) -> None:
        """Throw a staged blob away."""
        ...

    def put(self, stream: BinaryIO) -> BlobInfo:
        """Stage and commit in one step."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable binary file for the object."""
        ...

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start`` (inclusive) to ``end`` (exclusive) in chunks."""
        ...

    def get(self, key: str) -> bytes:
        """The whole object in memory: for small objects only."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every committed key, in no particular order."""
        ...

    def sync(self) -> None:
        """Make every committed object durable before the catalogue references it."""
        ...

    def clear_staging(self, older_than_seconds: float = 3600.0) -> int:
        """Remove stale staging files left by crashed writers; return how many."""
        ...
