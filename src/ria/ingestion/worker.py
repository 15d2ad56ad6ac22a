"""The per-file work of ingest, run in worker processes: stage, hash, parse, commit the blob.

Everything here is a pure function of its inputs so it can run in any process;
results are small picklable records (no DICOM data sets cross processes).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from ria.catalog.records import InstanceRecord
from ria.dicom.header import read_instance_header
from ria.errors import InvalidDicomError, RiaError
from ria.ingestion.sources import SourceItem, open_source
from ria.storage.base import BlobStore

__all__ = ["Rejection", "init_worker", "prepare_chunk", "prepare_chunk_in_worker"]

_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file that cannot enter the archive, and why."""

    source: str
    reason: str


def _prepare(
    item: SourceItem, store: BlobStore, archives: dict[str, zipfile.ZipFile]
) -> InstanceRecord | Rejection:
    try:
        with open_source(item, archives) as stream:
            staged = store.stage(stream)
    except (OSError, zipfile.BadZipFile, RiaError) as exc:
        return Rejection(item.display, f"unreadable: {exc}")
    try:
        with staged.open() as readable:
            header = read_instance_header(readable)
    except InvalidDicomError as exc:
        reason = exc.message
        with staged.open() as readable:
            if readable.read(4) == _ZIP_MAGIC:
                reason = "a zip archive without a .zip name; rename it to ingest its contents"
        store.discard(staged)
        return Rejection(item.display, reason)
    except BaseException:
        store.discard(staged)
        raise
    blob = store.commit(staged)
    return InstanceRecord(source=item.display, header=header, blob=blob, md5=staged.md5, crc32=staged.crc32)


def prepare_chunk(store: BlobStore, items: Sequence[SourceItem]) -> list[InstanceRecord | Rejection]:
    """Stage, parse and commit each item's bytes; one result per item, in order.

    The chunk's objects are flushed (visible to the catalogue writer's process,
    and durable if the store is) before the results are returned.
    """
    archives: dict[str, zipfile.ZipFile] = {}
    try:
        results = [_prepare(item, store, archives) for item in items]
        store.flush()
        return results
    finally:
        for archive in archives.values():
            archive.close()


# The store a worker process uses for its whole life: set once by init_worker, so one
# process keeps one pack file and one index connection instead of one per chunk.
_worker_store: BlobStore | None = None


def init_worker(store: BlobStore) -> None:
    """ProcessPoolExecutor initializer: remember this worker process's store."""
    global _worker_store
    _worker_store = store


def prepare_chunk_in_worker(items: Sequence[SourceItem]) -> list[InstanceRecord | Rejection]:
    """:func:`prepare_chunk` with the store given to :func:`init_worker`."""
    if _worker_store is None:
        raise RuntimeError("init_worker was not called in this worker process")
    return prepare_chunk(_worker_store, items)
