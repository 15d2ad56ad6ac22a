"""C-STORE SCP: each received instance enters the archive through :func:`ria.ingestion.receive.receive`.

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

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from pydicom.dataset import Dataset
from sqlalchemy.exc import SQLAlchemyError

from ria.catalog.records import Outcome
from ria.errors import CatalogUnavailableError, InvalidParameterError, RiaError, StorageError
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


def _mismatch(event: Event) -> str | None:
    """Why the data set does not match the request's Affected SOP Class/Instance UID, if it does not."""
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
