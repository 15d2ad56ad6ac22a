"""Plain data passed between ingest and the catalogue writer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ria.dicom.header import InstanceHeader
from ria.storage.base import BlobInfo

__all__ = ["InstanceRecord", "Outcome", "WriteResult"]


class Outcome(StrEnum):
    """What happened to one file offered to the archive."""

    INGESTED = "ingested"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"
    """Stored but held apart, never served, until a curator releases or rejects it (``ria review``)."""


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """A parsed instance whose bytes are already committed to the blob store.

    ``quarantine`` is why the instance must wait for a curator (e.g. possible
    burned-in text); the writer then holds it apart instead of cataloguing it.
    """

    source: str
    header: InstanceHeader
    blob: BlobInfo
    md5: str | None = None
    crc32: int | None = None
    quarantine: str | None = None
    actions: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome for one offered file, with a reason for anything but ``ingested``."""

    source: str
    outcome: Outcome
    reason: str | None = None
    sop_instance_uid: str | None = None
    series_instance_uid: str | None = None
    blob_key: str | None = None
