"""STOW-RS (PS3.18 §10.5): what a store request becomes, and the response data set it earns.

Every instance goes through :func:`ria.ingestion.receive.receive` — the path files
take — so STOW-RS is as idempotent and crash-safe as ``ria ingest``. The response
names each instance in ReferencedSOPSequence (stored, with its RetrieveURL) or
FailedSOPSequence (with a FailureReason), and the HTTP status follows PS3.18:
200 all stored, 202 some stored or stored with warnings, 409 none stored.

A failed item names its instance (Referenced SOP Class and Instance UID, Type 1 in PS3.18
Table I.1-1) when the part said which it is. A part that never said — not DICOM, cut off,
not ``application/dicom`` — has no UID to reference: the item then carries its
FailureReason alone, the attributes left out as :mod:`ria.dicomweb.dicomjson` leaves out
every value Ria does not know (an empty ``{"vr": "UI"}`` would claim a known, empty UID).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ria.catalog.records import Outcome
from ria.dicomweb.dicomjson import computed_attribute
from ria.ingestion.receive import Received

__all__ = [
    "FAILURE_CANNOT_UNDERSTAND",
    "FAILURE_DUPLICATE",
    "FAILURE_PROCESSING",
    "FAILURE_STUDY_MISMATCH",
    "PartFailure",
    "StoreResponse",
    "store_response",
]

# PS3.4 / PS3.18 status codes carried in FailureReason (0008,1197) and WarningReason (0008,1196).
FAILURE_PROCESSING = 0x0110
FAILURE_DUPLICATE = 0x0111  # the SOP Instance UID is already stored with other content
FAILURE_STUDY_MISMATCH = 0xA900  # not in the study the request URL names
FAILURE_CANNOT_UNDERSTAND = 0xC000  # not DICOM, truncated, missing UIDs, not an application/dicom part
WARNING_COERCED = 0xB000  # stored with elements changed (de-identified on the way in)

_SOP_CLASS = "00081150"
_SOP_INSTANCE = "00081155"
_RETRIEVE_URL = "00081190"
_FAILURE_REASON = "00081197"
_WARNING_REASON = "00081196"
_FAILED_SEQUENCE = "00081198"
_REFERENCED_SEQUENCE = "00081199"


@dataclass(frozen=True)
class PartFailure:
    """A part refused before ingest (wrong content type, truncated, outside the URL's study)."""

    index: int
    reason: int
    message: str
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None


@dataclass(frozen=True)
class StoreResponse:
    status: int
    body: dict[str, Any]


def _reference(sop_class: str | None, sop_instance: str | None) -> dict[str, Any]:
    """The SOP Instance Reference Macro (PS3.3 Table 10-11) for what is known of an instance."""
    item: dict[str, Any] = {}
    for tag, value in ((_SOP_CLASS, sop_class), (_SOP_INSTANCE, sop_instance)):
        attribute = computed_attribute("UI", value)
        if attribute is not None:
            item[tag] = attribute
    return item


def _failure(sop_class: str | None, sop_instance: str | None, reason: int) -> dict[str, Any]:
    return {**_reference(sop_class, sop_instance), _FAILURE_REASON: {"vr": "US", "Value": [reason]}}


def _reason_code(answer: Received) -> int:
    if answer.outcome is Outcome.CONFLICT:
        return FAILURE_DUPLICATE
    if answer.outcome is Outcome.REJECTED:
        return FAILURE_CANNOT_UNDERSTAND
    return FAILURE_PROCESSING


def store_response(
    answers: Sequence[Received],
    failures: Sequence[PartFailure],
    base_url: str,
    *,
    study_uid: str | None = None,
    coerced: bool = False,
) -> StoreResponse:
    """The PS3.18 response for a store request.

    ``coerced`` says the collection de-identifies on the way in: every stored
    instance then carries WarningReason B000 (elements coerced) and is named by
    its new UIDs. Quarantined instances (held for a curator) are listed with the
    same warning and no RetrieveURL: stored, but not served until released.
    """
    referenced: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = [
        _failure(f.sop_class_uid, f.sop_instance_uid, f.reason)
        for f in sorted(failures, key=lambda f: f.index)
    ]
    warnings = False
    studies: set[str] = set()
    for answer in answers:
        if answer.stored or answer.outcome is Outcome.QUARANTINED:
            item = _reference(answer.sop_class_uid, answer.sop_instance_uid)
            if answer.stored and answer.study_instance_uid and answer.series_instance_uid:
                studies.add(answer.study_instance_uid)
                item[_RETRIEVE_URL] = {
                    "vr": "UR",
                    "Value": [
                        f"{base_url}/studies/{answer.study_instance_uid}/series/{answer.series_instance_uid}"
                        f"/instances/{answer.sop_instance_uid}"
                    ],
                }
            if coerced or answer.outcome is Outcome.QUARANTINED:
                item[_WARNING_REASON] = {"vr": "US", "Value": [WARNING_COERCED]}
                warnings = True
            referenced.append(item)
        else:
            failed.append(_failure(answer.sop_class_uid, answer.sop_instance_uid, _reason_code(answer)))
    body: dict[str, Any] = {}
    target_study = study_uid or (next(iter(studies)) if len(studies) == 1 else None)
    if target_study:
        body[_RETRIEVE_URL] = {"vr": "UR", "Value": [f"{base_url}/studies/{target_study}"]}
    if failed:
        body[_FAILED_SEQUENCE] = {"vr": "SQ", "Value": failed}
    if referenced:
        body[_REFERENCED_SEQUENCE] = {"vr": "SQ", "Value": referenced}
    if not referenced:
        status = 409
    elif failed or warnings:
        status = 202
    else:
        status = 200
    return StoreResponse(status, body)
