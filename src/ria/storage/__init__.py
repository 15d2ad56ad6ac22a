"""Blob storage: one interface (:class:`BlobStore`), interchangeable backends."""

from ria.storage.base import BlobInfo, BlobStore, StagedBlob, validate_key
from ria.storage.local import LocalBlobStore

__all__ = ["BlobInfo", "BlobStore", "LocalBlobStore", "StagedBlob", "validate_key"]
