"""Burned-in instances and a stand-in transform that holds them, for the quarantine tests.

The files are pydicom's real images with ``BurnedInAnnotation`` set to ``YES``.
The transform leaves every file's bytes as they are, so what the archive must
hold or serve is the file itself — its bytes, SHA-256 and size — and decides
with its own pydicom read, not with Ria's, which files to hold. What each file
contains is read back with pydicom after it is written (:class:`HeldFile`).
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from ria.dicom.header import InstanceHeader
from ria.sample import find_test_file

REASON = "BurnedInAnnotation is YES (test transform)"


@dataclass
class KeepOrHold:
    """What :class:`HoldBurnedIn` makes of one file: the same bytes, and maybe a reason to hold them."""

    data: bytes | None
    refusal: str | None = None
    quarantine: str | None = None
    actions: dict[str, int] = field(default_factory=dict)
    header: InstanceHeader | None = None  # none: ingest parses the bytes itself


class HoldBurnedIn:
    """A picklable ingest transform: bytes unchanged; hold what declares BurnedInAnnotation YES."""

    def __call__(self, data: bytes) -> KeepOrHold:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        except Exception:
            return KeepOrHold(data)  # not DICOM: let ingest reject it with its own reason
        burned = str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES"
        return KeepOrHold(data, quarantine=REASON if burned else None)


@dataclass(frozen=True)
class HeldFile:
    """One written file as pydicom, hashlib and zlib see it."""

    path: Path
    sop_uid: str
    series_uid: str
    study_uid: str
    patient_id: str
    size: int
    sha256: str
    md5: str
    crc32: int

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


def read_file(path: Path) -> HeldFile:
    data = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    return HeldFile(
        path=path,
        sop_uid=str(ds.SOPInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        study_uid=str(ds.StudyInstanceUID),
        patient_id=str(ds.PatientID),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        crc32=zlib.crc32(data),
    )


def rewrite(source: Path, target: Path, *, burned_in: str | None = "YES", **changes: str) -> HeldFile:
    """A copy of ``source`` with ``changes`` (DICOM keywords) and BurnedInAnnotation set (or left out)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source)
        if burned_in is not None:
            ds.BurnedInAnnotation = burned_in
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target, enforce_file_format=True)
    return read_file(target)


def burned_in_copy(source: Path, target: Path, **changes: str) -> HeldFile:
    """Another instance of ``source``'s series (new SOPInstanceUID), declaring burned-in text."""
    return rewrite(source, target, SOPInstanceUID=generate_uid(), **changes)


def burned_in_ct(target: Path, patient_id: str = "TCGA-HL-0001", **changes: str) -> HeldFile:
    """pydicom's CT_small.dcm as a new patient, study and series, declaring burned-in text."""
    return rewrite(
        find_test_file("CT_small.dcm"),
        target,
        PatientID=patient_id,
        StudyInstanceUID=generate_uid(),
        SeriesInstanceUID=generate_uid(),
        SOPInstanceUID=generate_uid(),
        **changes,
    )
