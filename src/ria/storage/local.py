"""A blob store in a local folder: ``objects/ab/<sha256>``, staged under ``staging/``."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ria.errors import NotFoundError, StorageError
from ria.storage.base import CHUNK_SIZE, BlobInfo, StagedBlob, validate_key

__all__ = ["LocalBlobStore"]


class LocalBlobStore:
    """Content-addressed files under ``root``.

    Staging and objects share one file system, so commit is a single atomic
    ``os.replace``. Readers never see a partial object.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._staging = self.root / "staging"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._staging.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def __reduce__(self) -> tuple[type[LocalBlobStore], tuple[str]]:
        return (LocalBlobStore, (str(self.root),))

    def path(self, key: str) -> Path:
        """Where the object with ``key`` lives (``objects/<first two hex digits>/<key>``).

        One level of 256 folders: few enough that creating them costs nothing,
        and ext4/xfs index large folders, so millions of objects stay fast.
        """
        validate_key(key)
        return self._objects / key[:2] / key

    def stage(self, stream: BinaryIO) -> StagedBlob:
        digest = hashlib.sha256()
        size = 0
        path = self._staging / f"{uuid.uuid4().hex}.part"
        try:
            with open(path, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise StorageError(f"could not stage blob: {exc.strerror or exc}") from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedBlob(path=path, size=size, sha256=digest.hexdigest())

    def commit(self, staged: StagedBlob) -> BlobInfo:
        target = self.path(staged.sha256)
        try:
            try:
                present = os.stat(target).st_size == staged.size
            except FileNotFoundError:
                present = False
            if present:
                staged.path.unlink(missing_ok=True)
                os.utime(target)  # a fresh mtime keeps `gc` from collecting it mid-ingest
            else:
                # A same-key object of the wrong size can only be the remains of a
                # power loss before sync; the staged copy replaces it.
                try:
                    os.replace(staged.path, target)
                except FileNotFoundError:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged.path, target)
        except OSError as exc:
            raise StorageError(f"could not commit blob {staged.sha256}: {exc.strerror or exc}") from exc
        return BlobInfo(key=staged.sha256, size=staged.size, sha256=staged.sha256)

    def discard(self, staged: StagedBlob) -> None:
        staged.path.unlink(missing_ok=True)

    def put(self, stream: BinaryIO) -> BlobInfo:
        return self.commit(self.stage(stream))

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path(key), "rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {key} is not in the store", key=key) from None

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        size = self.size(key)
        stop = size if end is None else min(end, size)
        if start < 0 or start > stop:
            raise StorageError(f"invalid byte range {start}-{end} for blob of {size} bytes")
        return self._iter_range(key, start, stop)

    def _iter_range(self, key: str, start: int, stop: int) -> Iterator[bytes]:
        with self.open(key) as handle:
            handle.seek(start)
            remaining = stop - start
            while remaining > 0:
                chunk = handle.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise StorageError(f"blob {key} ended early")
                remaining -= len(chunk)
                yield chunk

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

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def iter_keys(self) -> Iterator[str]:
        for folder in sorted(self._objects.iterdir()):
            if folder.is_dir():
                for item in folder.iterdir():
                    if len(item.name) == 64 and item.is_file():
                        yield item.name

    def sync(self) -> None:
        os.sync()

    def clear_staging(self, older_than_seconds: float = 3600.0) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for item in self._staging.glob("*.part"):
            try:
                if item.stat().st_mtime < cutoff:
                    item.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
