"""Read the catalogue-relevant header of one DICOM Part 10 file, without pixel data.

Lenient about what real scanners write (odd VRs, leading-zero UIDs, bad
dates become ``None``), strict about what would corrupt the archive: no
Part 10 preamble, a truncated file, or missing identifying UIDs are errors
with a reason a curator can act on.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from ria.dicom.uids import is_valid_uid
from ria.errors import InvalidDicomError

__all__ = ["InstanceHeader", "check_complete", "dataset_header", "read_instance_header"]

PREAMBLE_LENGTH = 128
_DEFER_SIZE = 4096
_UNDEFINED_LENGTH = 0xFFFFFFFF
_DEFLATED = "1.2.840.10008.1.2.1.99"
# (FFFE,E0DD) with a zero length, little and big endian.
_SEQUENCE_DELIMITERS = (b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", b"\xff\xfe\xe0\xdd\x00\x00\x00\x00")


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
    acquisition_number: int | None = None


# Value representations whose bytes are ASCII by definition, whatever the character set.
_ASCII_ONLY = frozenset(
    {
        "SOPInstanceUID",
        "SOPClassUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "TransferSyntaxUID",
        "PatientSex",
        "PatientAge",
        "PatientBirthDate",
        "StudyDate",
        "SeriesDate",
        "Modality",
        "BodyPartExamined",
        "SeriesNumber",
        "InstanceNumber",
        "AcquisitionNumber",
        "SpecificCharacterSet",
    }
)
# Character sets whose bytes decode with one Python codec (ISO 2022 escapes need pydicom's decoder).
_SIMPLE_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_TAGS: dict[str, BaseTag] = {}


def _tag(keyword: str) -> BaseTag:
    tag = _TAGS.get(keyword)
    if tag is None:
        number = tag_for_keyword(keyword)
        if number is None:
            raise KeyError(keyword)
        tag = _TAGS[keyword] = BaseTag(number)
    return tag


class _Values:
    """Reads attribute values straight from pydicom's raw elements.

    pydicom converts a raw element to a typed value on first access, which costs
    tens of microseconds per attribute; the catalogue needs only text, so plain
    decoding of the raw bytes is several times faster. Values pydicom has
    already converted, values it deferred, and text in ISO 2022 character sets
    go through pydicom's own conversion, so results always match it; so do person
    names, whose component-group rules pydicom applies when formatting them.
    """

    def __init__(self, ds: Dataset) -> None:
        self._ds = ds
        charset = self.text("SpecificCharacterSet", 64) or ""
        self._codec = _SIMPLE_CHARSETS.get(charset)

    def text(self, keyword: str, limit: int = 1024) -> str | None:
        tag = _tag(keyword)
        element = self._ds._dict.get(tag)
        if element is None:
            return None
        raw = element.value if isinstance(element, RawDataElement) else None
        if isinstance(raw, bytes) and (
            keyword in _ASCII_ONLY or (self._codec is not None and keyword != "PatientName")
        ):
            text = raw.decode("latin-1" if keyword in _ASCII_ONLY else (self._codec or "latin-1"), "replace")
        else:
            value: Any = self._ds[tag].value
            if value is None:
                return None
            if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
                text = "\\".join(str(v) for v in value)
            else:
                text = str(value)
        text = text.strip(" \x00")
        return text[:limit] or None

    def integer(self, keyword: str) -> int | None:
        text = self.text(keyword)
        if text is None:
            return None
        try:
            return int(float(text.split("\\")[0]))
        except (ValueError, OverflowError):
            return None

    def date(self, keyword: str) -> dt.date | None:
        text = self.text(keyword)
        if text is None or len(text) < 8:
            return None
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return None

    def uid(self, keyword: str) -> str:
        value = self.text(keyword)
        if value is None:
            raise InvalidDicomError(f"missing {keyword}")
        if not is_valid_uid(value):
            raise InvalidDicomError(
                f"{keyword} {value[:80]!r} is not a valid UID (digits and dots, at most 64)"
            )
        return value

    def required(self, keyword: str, limit: int) -> str:
        value = self.text(keyword, limit)
        if value is None:
            raise InvalidDicomError(f"missing or empty {keyword}")
        return value


def _check_complete(ds: Dataset, file_size: int, tail: bytes) -> None:
    """Raise unless the last top-level element ends exactly where the file ends.

    An element that claims bytes past the end is a cut inside a value; bytes
    left over after the last element are a cut inside the next element's
    header, which pydicom stops at silently. (A cut exactly between two
    elements leaves a shorter valid file, which no reader can tell apart.)
    """
    if not ds._dict:
        raise InvalidDicomError("no data set after the File Meta Information (truncated?)")
    elements = cast(dict[BaseTag, Any], ds._dict)
    last = elements[next(reversed(elements))]  # elements are stored in file order
    tell = getattr(last, "value_tell", None)
    length = getattr(last, "length", None)
    if tell is None or length is None or length == _UNDEFINED_LENGTH:
        # Undefined-length sequences and encapsulated pixel data end with a Sequence
        # Delimitation Item; pydicom tolerates its absence, an archive must not.
        if tail not in _SEQUENCE_DELIMITERS:
            raise InvalidDicomError(
                f"truncated: element {last.tag} has no sequence delimiter at the end of the file"
            )
        return
    end = tell + length
    if end > file_size:
        raise InvalidDicomError(
            f"truncated: element {last.tag} needs {end} bytes but the file has {file_size}"
        )
    if end < file_size:
        raise InvalidDicomError(
            f"truncated: {file_size - end} stray bytes after element {last.tag} at the end of the file"
        )


def check_complete(ds: Dataset, data_size: int, tail: bytes) -> None:
    """Raise :class:`InvalidDicomError` if a data set read from ``data_size`` bytes was truncated.

    For callers that parsed a whole file themselves (de-identification) and must
    refuse exactly what ingest refuses. ``tail`` is the file's last 8 bytes.
    Deflated files are not checked here (zlib checks them).
    """
    if ds.file_meta.get("TransferSyntaxUID") != _DEFLATED:
        _check_complete(ds, data_size, tail)


def dataset_header(ds: Dataset) -> InstanceHeader:
    """The catalogue's view of a data set already in memory (no second parse of its bytes)."""
    try:
        return _header(ds)
    except InvalidDicomError:
        raise
    except Exception as exc:  # pydicom raises many types on malformed values
        raise InvalidDicomError(f"unreadable DICOM: {type(exc).__name__}: {exc}"[:300]) from exc


def read_instance_header(source: Path | str | BinaryIO) -> InstanceHeader:
    """Parse a Part 10 file (a path, or a seekable binary stream) into an :class:`InstanceHeader`.

    Large values (pixel data) are skipped, not read, when ``source`` is a file on
    disk; in-memory streams are parsed where they are.

    Raises:
        InvalidDicomError: not DICOM, no Part 10 header, truncated, or missing UIDs.
    """
    try:
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as handle:
                return _read(handle)
        return _read(source)
    except InvalidDicomError:
        raise
    except Exception as exc:  # pydicom raises many types on malformed input
        raise InvalidDicomError(f"unreadable DICOM: {type(exc).__name__}: {exc}"[:300]) from exc


def _read(handle: BinaryIO) -> InstanceHeader:
    file_size = handle.seek(0, os.SEEK_END)
    handle.seek(0)
    head = handle.read(PREAMBLE_LENGTH + 4)
    if len(head) < PREAMBLE_LENGTH + 4 or head[PREAMBLE_LENGTH:] != b"DICM":
        if file_size == 0:
            raise InvalidDicomError("empty file")
        raise InvalidDicomError("not a DICOM Part 10 file: no 'DICM' marker after the 128-byte preamble")
    handle.seek(0)
    on_disk = isinstance(getattr(handle, "name", None), str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(handle, defer_size=_DEFER_SIZE if on_disk else None)
        if ds.file_meta.get("TransferSyntaxUID") != _DEFLATED:
            handle.seek(max(0, file_size - 8))
            _check_complete(
                ds, file_size, handle.read(8)
            )  # deflated data: positions are in the inflated stream, zlib checks
        return _header(ds)


def _header(ds: Dataset) -> InstanceHeader:
    values = _Values(ds)
    meta = ds.file_meta
    return InstanceHeader(
        sop_instance_uid=values.uid("SOPInstanceUID"),
        sop_class_uid=values.uid("SOPClassUID"),
        study_instance_uid=values.uid("StudyInstanceUID"),
        series_instance_uid=values.uid("SeriesInstanceUID"),
        patient_id=values.required("PatientID", 64),
        transfer_syntax_uid=_Values(meta).text("TransferSyntaxUID") if meta is not None else None,
        patient_name=values.text("PatientName"),
        patient_sex=values.text("PatientSex", 16),
        patient_age=values.text("PatientAge", 16),
        patient_birth_date=values.date("PatientBirthDate"),
        ethnic_group=values.text("EthnicGroup", 64),
        study_date=values.date("StudyDate"),
        study_description=values.text("StudyDescription"),
        study_id=values.text("StudyID", 64),
        accession_number=values.text("AccessionNumber", 64),
        admitting_diagnoses_description=values.text("AdmittingDiagnosesDescription"),
        modality=values.text("Modality", 16),
        protocol_name=values.text("ProtocolName"),
        series_date=values.date("SeriesDate"),
        series_description=values.text("SeriesDescription"),
        body_part_examined=values.text("BodyPartExamined", 64),
        series_number=values.integer("SeriesNumber"),
        manufacturer=values.text("Manufacturer", 256),
        manufacturer_model_name=values.text("ManufacturerModelName", 256),
        software_versions=values.text("SoftwareVersions", 256),
        instance_number=values.integer("InstanceNumber"),
        acquisition_number=values.integer("AcquisitionNumber"),
    )
