"""Blob storage: one interface (:class:`BlobStore`), interchangeable backends.

* :class:`PackBlobStore` (``pack``, the default): objects appended to pack files, SQLite index.
* :class:`FileBlobStore` (``files``): one file per object.
"""

from __future__ import annotations

from pathlib import Path

from ria.errors import ConfigurationError
from ria.storage.base import BlobInfo, BlobStore, StagedBlob, validate_key
from ria.storage.files import FileBlobStore
from ria.storage.pack import PackBlobStore

__all__ = [
    "BLOB_STORE_KINDS",
    "BlobInfo",
    "BlobStore",
    "FileBlobStore",
    "PackBlobStore",
    "StagedBlob",
    "open_blob_store",
    "validate_key",
]

BLOB_STORE_KINDS = ("pack", "files")


def open_blob_store(kind: str | None, root: Path, *, durable: bool = True) -> BlobStore:
    """The blob store rooted at ``root``.

    A store records its kind in ``root/STORE`` when it is created, so an archive
    is always reopened with the backend that wrote it: ``kind=None`` means
    "whatever this archive uses" (``pack`` for a new one); naming a different
    kind than the one recorded is a configuration error, never a silently empty store.
    """
    marker = root / "STORE"
    recorded = marker.read_text().strip() if marker.is_file() else None
    chosen = kind or recorded or "pack"
    if chosen not in BLOB_STORE_KINDS:
        raise ConfigurationError(
            f"unknown blob store {chosen!r}; choose one of {', '.join(BLOB_STORE_KINDS)}"
        )
    if recorded is not None and recorded != chosen:
        raise ConfigurationError(
            f"the archive in {root.parent} uses the {recorded!r} blob store, not {chosen!r}; "
            "unset RIA_BLOB_STORE or set it to the recorded kind"
        )
    store: BlobStore = (
        PackBlobStore(root, durable=durable) if chosen == "pack" else FileBlobStore(root, durable=durable)
    )
    if recorded is None:
        marker.write_text(chosen + "\n")
    return store
