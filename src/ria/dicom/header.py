"""Read the catalogue-relevant header of one DICOM Part 10 file, without pixel data.

Lenient about what real scanners write (odd VRs, leading-zero UIDs, bad
dates become ``None``), strict about what would corrupt the archive: no
Part 10 preamble, a truncated file, or missing identifying UIDs are errors
with a reason a curator can act on.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset

from ria.dicom.uids import is_valid_uid
from ria.errors import InvalidDicomError

__all__ = ["InstanceHeader", "read_instance_header"]

PREAMBLE_LENGTH = 128
_DEFER_SIZE = 4096
_UNDEFINED_LENGTH = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    """The attributes Ria catalogues for one instance (all optional unless noted)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    patient_id: str
    transfer_syntax_uid: str | None = None
    patient_name: str | None = None
    patient_sex: str | None = None
    patient_age: str | None = None
    patient_birth_date: dt.date | None = None
    ethnic_group: str | None = None
    study_date: dt.date | None = None
    study_description: str | None = None
    study_id: str | None = None
    accession_number: str | None = None
    admitting_diagnoses_description: str | None = None
    modality: str | None = None
    protocol_name: str | None = None
    series_date: dt.date | None = None
    series_description: str | None = None
    body_part_examined: str | None = None
    series_number: int | None = None
    manufacturer: str | None = None
    manufacturer_model_name: str | None = None
    software_versions: str | None = None
    instance_number: int | None = None


def _text(ds: Dataset, keyword: str, limit: int = 1024) -> str | None:
    value: Any = ds.get(keyword)
    if value is None:
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    text = text.strip().strip("\x00").strip()
    return text[:limit] or None


def _int(ds: Dataset, keyword: str) -> int | None:
    text = _text(ds, keyword)
    if text is None:
        return None
    try:
        return int(float(text.split("\\")[0]))
    except (ValueError, OverflowError):
        return None


def _date(ds: Dataset, keyword: str) -> dt.date | None:
    text = _text(ds, keyword)
    if text is None or len(text) < 8:
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _required_uid(ds: Dataset, keyword: str) -> str:
    value = _text(ds, keyword)
    if value is None:
        raise InvalidDicomError(f"missing {keyword}")
    if not is_valid_uid(value):
        raise InvalidDicomError(f"{keyword} {value[:80]!r} is not a valid UID (digits and dots, at most 64)")
    return value


def _check_complete(ds: Dataset, file_size: int) -> None:
    """Raise if the last top-level element claims bytes beyond the end of the file."""
    if not ds._dict:
        raise InvalidDicomError("no data set after the File Meta Information (truncated?)")
    last = ds._dict[max(ds._dict)]
    tell = getattr(last, "value_tell", None)
    length = getattr(last, "length", None)
    if tell is not None and length is not None and length != _UNDEFINED_LENGTH and tell + length > file_size:
        raise InvalidDicomError(
            f"truncated: element {last.tag} needs {tell + length} bytes but the file has {file_size}"
        )


def read_instance_header(path: Path | str) -> InstanceHeader:
    """Parse ``path`` (a Part 10 file) and return its :class:`InstanceHeader`.

    Raises:
        InvalidDicomError: not DICOM, no Part 10 header, truncated, or missing UIDs.
    """
    path = Path(path)
    file_size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(PREAMBLE_LENGTH + 4)
    if len(head) < PREAMBLE_LENGTH + 4 or head[PREAMBLE_LENGTH:] != b"DICM":
        if file_size == 0:
            raise InvalidDicomError("empty file")
        raise InvalidDicomError("not a DICOM Part 10 file: no 'DICM' marker after the 128-byte preamble")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, defer_size=_DEFER_SIZE)
            _check_complete(ds, file_size)
            meta = ds.file_meta
            sop_instance_uid = _required_uid(ds, "SOPInstanceUID")
            header = InstanceHeader(
                sop_instance_uid=sop_instance_uid,
                sop_class_uid=_required_uid(ds, "SOPClassUID"),
                study_instance_uid=_required_uid(ds, "StudyInstanceUID"),
                series_instance_uid=_required_uid(ds, "SeriesInstanceUID"),
                patient_id=_patient_id(ds),
                transfer_syntax_uid=_text(meta, "TransferSyntaxUID") if meta is not None else None,
                patient_name=_text(ds, "PatientName"),
                patient_sex=_text(ds, "PatientSex", 16),
                patient_age=_text(ds, "PatientAge", 16),
                patient_birth_date=_date(ds, "PatientBirthDate"),
                ethnic_group=_text(ds, "EthnicGroup", 64),
                study_date=_date(ds, "StudyDate"),
                study_description=_text(ds, "StudyDescription"),
                study_id=_text(ds, "StudyID", 64),
                accession_number=_text(ds, "AccessionNumber", 64),
                admitting_diagnoses_description=_text(ds, "AdmittingDiagnosesDescription"),
                modality=_text(ds, "Modality", 16),
                protocol_name=_text(ds, "ProtocolName"),
                series_date=_date(ds, "SeriesDate"),
                series_description=_text(ds, "SeriesDescription"),
                body_part_examined=_text(ds, "BodyPartExamined", 64),
                series_number=_int(ds, "SeriesNumber"),
                manufacturer=_text(ds, "Manufacturer", 256),
                manufacturer_model_name=_text(ds, "ManufacturerModelName", 256),
                software_versions=_text(ds, "SoftwareVersions", 256),
                instance_number=_int(ds, "InstanceNumber"),
            )
    except InvalidDicomError:
        raise
    except Exception as exc:  # pydicom raises many types on malformed input
        raise InvalidDicomError(f"unreadable DICOM: {type(exc).__name__}: {exc}"[:300]) from exc
    return header


def _patient_id(ds: Dataset) -> str:
    value = _text(ds, "PatientID", 64)
    if value is None:
        raise InvalidDicomError("missing PatientID")
    return value
