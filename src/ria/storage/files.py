"""A blob store with one file per object: ``objects/ab/<sha256>``, staged under ``staging/``.

Simple to inspect, back up and rsync, and the shape an S3-style store mirrors.
Creating a file per object is what limits its ingest rate on most file
systems; :class:`~ria.storage.pack.PackBlobStore` (the default) avoids that.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ria.errors import NotFoundError, StorageError
from ria.storage.base import BlobInfo, StagedBlob, clear_stale, iter_range, spool, validate_key

__all__ = ["FileBlobStore"]


class FileBlobStore:
    """Content-addressed files under ``root``.

    Staging and objects share one file system, so commit is a single atomic
    ``os.replace``: readers never see a partial object. With ``durable`` the
    :meth:`sync` barrier flushes the file system before the catalogue commits.
    """

    def __init__(self, root: Path | str, *, durable: bool = True, memory_limit: int = 4 << 20) -> None:
        self.root = Path(root)
        self.durable = durable
        self.memory_limit = memory_limit
        self._objects = self.root / "objects"
        self._staging = self.root / "staging"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._staging.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (str(self.root), self.durable, self.memory_limit))

    def path(self, key: str) -> Path:
        """Where the object with ``key`` lives (``objects/<first two hex digits>/<key>``).

        One level of 256 folders: few enough that creating them costs nothing,
        and ext4/xfs index large folders, so millions of objects stay fast.
        """
        validate_key(key)
        return self._objects / key[:2] / key

    def stage(self, stream: BinaryIO) -> StagedBlob:
        return spool(stream, self._staging, self.memory_limit)

    def commit(self, staged: StagedBlob) -> BlobInfo:
        target = self.path(staged.sha256)
        try:
            try:
                present = os.stat(target).st_size == staged.size
            except FileNotFoundError:
                present = False
            if present:
                staged.release()
                os.utime(target)  # a fresh mtime keeps `gc` from collecting it mid-ingest
            else:
                # A same-key object of the wrong size can only be the remains of a
                # power loss before sync; the staged copy replaces it.
                source = staged.path or self._write_staging(staged)
                try:
                    os.replace(source, target)
                except FileNotFoundError:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(source, target)
        except OSError as exc:
            raise StorageError(f"could not commit blob {staged.sha256}: {exc.strerror or exc}") from exc
        return BlobInfo(key=staged.sha256, size=staged.size, sha256=staged.sha256)

    def _write_staging(self, staged: StagedBlob) -> Path:
        path = self._staging / f"{uuid.uuid4().hex}.part"
        with open(path, "wb") as out:
            out.write(staged.data or b"")
        return path

    def discard(self, staged: StagedBlob) -> None:
        staged.release()

    def put(self, stream: BinaryIO) -> BlobInfo:
        return self.commit(self.stage(stream))

    def flush(self) -> None:
        """Nothing to do: a committed file is visible as soon as it is renamed."""

    def sync(self) -> None:
        if self.durable:
            os.sync()

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path(key), "rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {key} is not in the store", key=key) from None

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return iter_range(self, key, start, end)

    def read_objects(self, keys: Sequence[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
        for key in keys:
            yield key, self.open_range(key)

    def get(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            raise NotFoundError(f"blob {key} is not in the store", key=key) from None

    def age(self, key: str) -> float:
        try:
            return time.time() - self.path(key).stat().st_mtime
        except FileNotFoundError:
            raise NotFoundError(f"blob {key} is not in the store", key=key) from None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def iter_keys(self) -> Iterator[str]:
        for folder in sorted(self._objects.iterdir()):
            if folder.is_dir():
                # One folder holds 1/256 of the keys: sorting it keeps the whole listing ascending.
                yield from sorted(
                    item.name for item in folder.iterdir() if len(item.name) == 64 and item.is_file()
                )

    def clear_staging(self, older_than_seconds: float = 3600.0) -> int:
        return clear_stale(self._staging, older_than_seconds, time.time())

    def compact(self) -> int:
        """Nothing to do: deleting a file frees its space."""
        return 0


def _rebuild(root: str, durable: bool, memory_limit: int) -> FileBlobStore:
    return FileBlobStore(root, durable=durable, memory_limit=memory_limit)
