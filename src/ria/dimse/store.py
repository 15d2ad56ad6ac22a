"""C-STORE SCP: instances are checked, kept durably, answered, and ingested in batches per association.

:class:`AssociationStore` answers each C-STORE once the instance is checked (the
request's UIDs, a readable header with the attributes ingest requires, no other bytes
already stored under its SOP Instance UID) and kept in the association's
:class:`~ria.ingestion.inbox.Inbox`; the inbox goes through the ordinary ingest every
``batch_size`` instances and at release or abort (docs/conformance.md, DIMSE). A
collection that requires de-identification takes the per-instance path instead
(:func:`store_received`, through :func:`ria.ingestion.receive.receive`), so that a refusal
by its de-identification is the instance's own status.

Statuses (PS3.4 B.2.3, PS3.7 C), one per instance and true once answered:

* ``0x0000`` success: catalogued, already held with the same bytes (duplicate), or
  held for a curator's review (quarantine: stored, served once released).
* ``0x0124`` refused, not authorised: the called AE title files into no collection,
  or the collection requires de-identification and has no stored ID map.
* ``0xA700`` out of resources: the blob store or the catalogue failed, or the disk is full.
* ``0xA900`` data set does not match SOP class: the data set's SOP Class/Instance UID
  differ from the request's, or a required attribute (UIDs, PatientID) is missing or invalid.
* ``0xC000`` cannot understand: not DICOM, truncated, unreadable, or refused by the
  collection's de-identification (e.g. a patient missing from the ID map).
* ``0xC001`` cannot understand — conflict: the SOP Instance UID is stored with other
  bytes or in another collection, or its study/series belong to another patient/study.

Failures carry the reason in ErrorComment (to the sender, who owns the data); the log
names only the status and outcome, never values from the data.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydicom.dataset import Dataset
from sqlalchemy.exc import SQLAlchemyError

from ria.catalog.records import Outcome
from ria.dicom.header import InstanceHeader, read_instance_header
from ria.errors import (
    CatalogUnavailableError,
    InvalidDicomError,
    InvalidParameterError,
    RiaError,
    StorageError,
)
from ria.ingestion.inbox import Inbox
from ria.ingestion.receive import Received, Spool, receive

if TYPE_CHECKING:
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.events import Event

    from ria.archive import Archive

__all__ = [
    "CANNOT_UNDERSTAND",
    "CONFLICT",
    "DOES_NOT_MATCH",
    "NOT_AUTHORISED",
    "OUT_OF_RESOURCES",
    "SUCCESS",
    "AssociationStore",
    "StoreAnswer",
    "store_received",
]

log = logging.getLogger(__name__)

SUCCESS = 0x0000
NOT_AUTHORISED = 0x0124
OUT_OF_RESOURCES = 0xA700
DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
CONFLICT = 0xC001

_DOES_NOT_MATCH_HINTS = ("missing", "not a valid UID", "PatientID")
_NO_SPACE_HINTS = ("No space left", "Errno 28", "Disk quota")


@dataclass(frozen=True, slots=True)
class StoreAnswer:
    """One C-STORE's status, the reason for a failure, and what happened (for the association log)."""

    status: int
    reason: str | None = None
    outcome: Outcome | None = None

    def as_status(self) -> Dataset | int:
        if self.status == SUCCESS or not self.reason:
            return self.status
        answer = Dataset()
        answer.Status = self.status
        answer.ErrorComment = self.reason.encode("ascii", "replace").decode()[:64]
        return answer


def _rejected_status(reason: str) -> int:
    if any(hint in reason for hint in _NO_SPACE_HINTS):
        return OUT_OF_RESOURCES
    if any(hint in reason for hint in _DOES_NOT_MATCH_HINTS):
        return DOES_NOT_MATCH
    return CANNOT_UNDERSTAND


def _status(received: Received) -> StoreAnswer:
    if received.outcome in (Outcome.INGESTED, Outcome.DUPLICATE, Outcome.QUARANTINED):
        return StoreAnswer(SUCCESS, outcome=received.outcome)
    reason = received.reason or received.outcome.value
    if received.outcome is Outcome.CONFLICT:
        return StoreAnswer(CONFLICT, reason, received.outcome)
    return StoreAnswer(_rejected_status(reason), reason, received.outcome)


def _mismatch(event: Event, sop_class: str | None = None, sop_instance: str | None = None) -> str | None:
    """Why the data set does not match the request's Affected SOP Class/Instance UID, if it does not.

    Given the data set's UIDs (read already), the data set is not decoded again.
    """
    if sop_class is None or sop_instance is None:
        try:
            dataset = event.dataset
            sop_class = str(dataset.get("SOPClassUID", "") or "").strip()
            sop_instance = str(dataset.get("SOPInstanceUID", "") or "").strip()
        except Exception:  # unreadable: ingest will say why, with its own status
            return None
    request = cast("C_STORE", event.request)
    if sop_class and sop_class != str(request.AffectedSOPClassUID):
        return "SOPClassUID differs from the request's Affected SOP Class UID"
    if sop_instance and sop_instance != str(request.AffectedSOPInstanceUID):
        return "SOPInstanceUID differs from the request's Affected SOP Instance UID"
    return None


def store_received(archive: Archive, collection: str | None, event: Event) -> StoreAnswer:
    """File the instance of one C-STORE request into ``collection``; never raises."""
    if collection is None:
        return StoreAnswer(NOT_AUTHORISED, "this AE title files instances into no collection")
    mismatch = _mismatch(event)
    if mismatch is not None:
        return StoreAnswer(DOES_NOT_MATCH, mismatch, Outcome.REJECTED)
    try:
        data = event.encoded_dataset()
        with Spool(archive.settings.data_dir) as spool:
            spool.add_chunks([data])
            (received,) = receive(archive, spool, collection, write_report=False)
    except InvalidParameterError as exc:
        # A collection that requires de-identification without a stored ID map, or a bad name.
        log.warning("C-STORE into %r refused: %s", collection, exc.message)
        return StoreAnswer(NOT_AUTHORISED, exc.message)
    except (StorageError, CatalogUnavailableError, SQLAlchemyError, OSError) as exc:
        log.error("C-STORE into %r failed: storage or catalogue error (%s)", collection, type(exc).__name__)
        return StoreAnswer(OUT_OF_RESOURCES, "the archive could not store the instance now")
    except RiaError as exc:
        log.error("C-STORE into %r failed: %s", collection, type(exc).__name__)
        return StoreAnswer(CANNOT_UNDERSTAND, exc.message)
    except Exception as exc:  # never let one instance break the association
        log.error("C-STORE into %r failed unexpectedly: %s", collection, type(exc).__name__)
        return StoreAnswer(CANNOT_UNDERSTAND, "internal error")
    return _status(received)


class AssociationStore:
    """The C-STORE requests of one association into one collection (see the module docstring)."""

    def __init__(self, archive: Archive, collection: str | None, *, batch_size: int = 200) -> None:
        self.archive = archive
        self.collection = collection
        self.batch_size = batch_size
        self._inbox: Inbox | None = None
        self._per_instance: bool | None = None

    def store(self, event: Event) -> StoreAnswer:
        """Check, keep and answer one C-STORE; never raises."""
        if self.collection is None:
            return StoreAnswer(NOT_AUTHORISED, "this AE title files instances into no collection")
        try:
            if self._per_instance is None:
                self._per_instance = self.archive.required_profile(self.collection) is not None
            if self._per_instance:
                return store_received(self.archive, self.collection, event)
            return self._keep(event)
        except (StorageError, CatalogUnavailableError, SQLAlchemyError, OSError) as exc:
            log.error(
                "C-STORE into %r failed: storage or catalogue error (%s)", self.collection, type(exc).__name__
            )
            return StoreAnswer(OUT_OF_RESOURCES, "the archive could not store the instance now")
        except Exception as exc:  # never let one instance break the association
            log.error("C-STORE into %r failed unexpectedly: %s", self.collection, type(exc).__name__)
            return StoreAnswer(CANNOT_UNDERSTAND, "internal error")

    def _keep(self, event: Event) -> StoreAnswer:
        if self._inbox is None:
            assert self.collection is not None
            self._inbox = Inbox(self.archive, self.collection, batch_size=self.batch_size)
        data = event.encoded_dataset()
        part = self._inbox.stage(data)
        answer = self._check(event, part, data)
        if not isinstance(answer, InstanceHeader):
            self._inbox.discard(part)
            return answer
        self._inbox.keep(part, answer)
        return StoreAnswer(SUCCESS, outcome=Outcome.INGESTED)

    def _check(self, event: Event, part: Path, data: bytes) -> StoreAnswer | InstanceHeader:
        """The answer for an instance answered now (refused, or a duplicate), or its header to keep it."""
        assert self._inbox is not None
        try:
            header = read_instance_header(part)  # what ingest will require (pixel data skipped)
        except InvalidDicomError as exc:
            mismatch = _mismatch(event)
            if mismatch is not None:
                return StoreAnswer(DOES_NOT_MATCH, mismatch, Outcome.REJECTED)
            return StoreAnswer(_rejected_status(exc.message), exc.message, Outcome.REJECTED)
        mismatch = _mismatch(event, header.sop_class_uid, header.sop_instance_uid)
        if mismatch is not None:
            return StoreAnswer(DOES_NOT_MATCH, mismatch, Outcome.REJECTED)
        held = self._inbox.stored_as(header.sop_instance_uid)
        if held is None:
            return header
        if held == (hashlib.sha256(data).hexdigest(), self.collection):
            return StoreAnswer(SUCCESS, outcome=Outcome.DUPLICATE)  # held already: nothing to keep
        reason = "conflict: this SOPInstanceUID is stored with other bytes or in another collection"
        return StoreAnswer(CONFLICT, reason, Outcome.CONFLICT)

    def flush(self) -> None:
        """Ingest what was acknowledged so far and wait for it (before the release is answered)."""
        if self._inbox is not None:
            self._inbox.flush()

    def close(self) -> None:
        """Flush and give the inbox up (release, abort, connection closed)."""
        inbox, self._inbox = self._inbox, None
        if inbox is not None:
            inbox.close()
