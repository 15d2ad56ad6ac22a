"""The per-file work of ingest, run in worker processes: stage, hash, parse, commit the blob.

Everything here is a pure function of its inputs so it can run in any process;
results are small picklable records (no DICOM data sets cross processes).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from ria.catalog.records import InstanceRecord
from ria.dicom.header import InstanceHeader, read_instance_header
from ria.errors import InvalidDicomError, RiaError
from ria.ingestion.sources import SourceItem, open_source
from ria.storage.base import BlobStore

__all__ = [
    "Rejection",
    "StreamingTransform",
    "Transform",
    "TransformOutcome",
    "init_worker",
    "prepare_chunk",
    "prepare_chunk_in_worker",
]


class TransformOutcome(Protocol):
    """What a transform (de-identification) makes of one file."""

    data: bytes | None
    refusal: str | None
    quarantine: str | None
    header: InstanceHeader | None

    @property
    def actions(self) -> Mapping[str, int]: ...


Transform = Callable[[bytes], TransformOutcome]
"""Rewrites a file's bytes before anything is stored (de-identification); runs in the workers."""


class StreamedOutcome(TransformOutcome, Protocol):
    """A transform's result that may stream from the source rather than hold the new file."""

    def body(self) -> BinaryIO | None:
        """The new file, to be read while the source is still open; ``None`` when refused."""
        ...


@runtime_checkable
class StreamingTransform(Protocol):
    """A transform that can read its source as a stream (de-identification of large files)."""

    def __call__(self, data: bytes) -> TransformOutcome: ...

    def from_stream(self, stream: BinaryIO) -> StreamedOutcome: ...


_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file that cannot enter the archive, and why."""

    source: str
    reason: str


def _prepare(
    item: SourceItem,
    store: BlobStore,
    archives: dict[str, zipfile.ZipFile],
    transform: Transform | None = None,
    known: InstanceHeader | None = None,
) -> InstanceRecord | Rejection:
    changed: TransformOutcome | None = None
    try:
        with open_source(item, archives) as stream:
            if transform is None:
                staged = store.stage(stream)
            else:
                # The original bytes never reach the store: only what the transform returns does.
                changed, body = _transformed(transform, stream)
                if body is None:
                    return Rejection(item.display, changed.refusal or "refused by the transform")
                staged = store.stage(body)  # a streamed body reads the source now, chunk by chunk
    except (OSError, zipfile.BadZipFile, RiaError) as exc:
        return Rejection(item.display, f"unreadable: {exc}")
    try:
        if changed is not None and changed.header is not None:
            header = changed.header  # the transform parsed and checked this data set already
        elif changed is None and known is not None:
            header = known  # the caller parsed and checked these very bytes (C-STORE's inbox)
        else:
            with staged.open() as readable:
                header = read_instance_header(readable)
    except InvalidDicomError as exc:
        with staged.open() as readable:
            reason = _zip_reason(item, readable.read(4)) or exc.message
        store.discard(staged)
        return Rejection(item.display, reason)
    except BaseException:
        store.discard(staged)
        raise
    blob = store.commit(staged)
    return InstanceRecord(
        source=item.display,
        header=header,
        blob=blob,
        md5=staged.md5,
        crc32=staged.crc32,
        quarantine=changed.quarantine if changed else None,
        actions=dict(changed.actions) if changed else None,
    )


def _transformed(transform: Transform, stream: BinaryIO) -> tuple[TransformOutcome, BinaryIO | None]:
    """The transform's result and the new file to store; the file is held whole only if it must be."""
    if isinstance(transform, StreamingTransform):
        streamed = transform.from_stream(stream)
        return streamed, streamed.body()
    changed = transform(stream.read())
    return changed, io.BytesIO(changed.data) if changed.data is not None else None


def _zip_reason(item: SourceItem, head: bytes) -> str | None:
    """Why a file that is not DICOM but is, or is named, a zip archive was not expanded.

    Only readable ``.zip`` files on disk are expanded (sources.iter_sources); whatever reaches
    here as non-DICOM is one of three things, each with its own remedy: a zip inside a zip
    (never expanded), a damaged ``.zip`` (zipfile's own reason), or a zip under another name.
    """
    if item.member is not None:
        if head == _ZIP_MAGIC:
            return "a zip archive inside a zip archive is not expanded; unzip it and ingest the folder"
        return None
    if item.path.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(item.path):
                return "corrupt zip archive: its members cannot be listed"
        except (zipfile.BadZipFile, OSError) as exc:
            return f"corrupt zip archive: {exc}"
    if head == _ZIP_MAGIC:
        return "a zip archive without a .zip name; rename it to ingest its contents"
    return None


def prepare_chunk(
    store: BlobStore,
    items: Sequence[SourceItem],
    transform: Transform | None = None,
    headers: Mapping[str, InstanceHeader] | None = None,
) -> list[InstanceRecord | Rejection]:
    """Stage, parse and commit each item's bytes; one result per item, in order.

    ``headers`` (by :attr:`SourceItem.display`) are headers the caller already read from
    those same files: they are not parsed a second time.

    The chunk's objects are flushed (visible to the catalogue writer's process,
    and durable if the store is) before the results are returned.
    """
    archives: dict[str, zipfile.ZipFile] = {}
    try:
        known = headers or {}
        results = [_prepare(item, store, archives, transform, known.get(item.display)) for item in items]
        store.flush()
        return results
    finally:
        for archive in archives.values():
            archive.close()


# The store a worker process uses for its whole life: set once by init_worker, so one
# process keeps one pack file and one index connection instead of one per chunk.
_worker_store: BlobStore | None = None
_worker_transform: Transform | None = None


def init_worker(store: BlobStore, transform: Transform | None = None) -> None:
    """ProcessPoolExecutor initializer: remember this worker process's store and transform."""
    global _worker_store, _worker_transform
    _worker_store = store
    _worker_transform = transform


def prepare_chunk_in_worker(items: Sequence[SourceItem]) -> list[InstanceRecord | Rejection]:
    """:func:`prepare_chunk` with the store given to :func:`init_worker`."""
    if _worker_store is None:
        raise RuntimeError("init_worker was not called in this worker process")
    return prepare_chunk(_worker_store, items, _worker_transform)
