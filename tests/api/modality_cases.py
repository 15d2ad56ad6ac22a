"""Real DICOM files for the "empty attribute" cases: pydicom's CT and MR, and copies without a Modality.

A study whose instances carry no Modality is what broke OHIF's study list (ModalitiesInStudy
sent without ``Value``), so the cases are: pydicom's CT_small and MR_small as they are; a
CT study whose one instance has no Modality element at all; a CT study whose instance holds
Modality empty (present, zero length); and a second series in the MR study without a
Modality (the study's ModalitiesInStudy must still be MR). Copies get UIDs of their own,
derived from the case name, so they are new studies/series/instances and stable per run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from ria.sample import find_test_file

__all__ = ["Case", "read", "write_cases"]


@dataclass(frozen=True)
class Case:
    """One written file and what pydicom reads back from it."""

    name: str
    path: Path
    dataset: pydicom.Dataset


def read(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _copy(source: str, name: str, *, patient: str | None = None, date: str | None = None) -> pydicom.Dataset:
    """A copy of a pydicom test file as a new series (and a new study for a new patient)."""
    ds = read(find_test_file(source))
    if patient is not None:
        ds.StudyInstanceUID = generate_uid(entropy_srcs=[name, "study"])
        ds.PatientID = patient
        ds.PatientName = f"Case^{name}"
    if date is not None:
        ds.StudyDate = date
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[name, "series"])
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[name, "instance"])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def write_cases(folder: Path) -> list[Case]:
    """Write the five files into ``folder`` and return them, read back with pydicom."""
    folder.mkdir(parents=True, exist_ok=True)
    built: dict[str, pydicom.Dataset] = {
        "ct": read(find_test_file("CT_small.dcm")),
        "mr": read(find_test_file("MR_small.dcm")),
    }
    no_modality = _copy("CT_small.dcm", "no-modality", patient="NOMOD1", date="20110302")
    del no_modality.Modality
    built["no-modality"] = no_modality
    empty = _copy("CT_small.dcm", "empty-modality", patient="EMPTYMOD1", date="20120403")
    empty.Modality = ""
    built["empty-modality"] = empty
    mr_series = _copy("MR_small.dcm", "mr-series-without-modality")
    del mr_series.Modality
    built["mr-series-without-modality"] = mr_series
    cases = []
    for name, ds in built.items():
        path = folder / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        cases.append(Case(name, path, read(path)))
    return cases
