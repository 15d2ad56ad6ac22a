"""What a corpus holds, read straight from its files with pydicom: the truth TCIA answers are checked against.

Nothing here asks Ria anything. :func:`build_tcia_corpus` writes real DICOM
(pydicom's CT and MR test images, re-keyed by :func:`ria.sample.generate_corpus`)
and then gives the series the variety a TCIA client filters on — body parts,
a second manufacturer, one series without a body part — so that value lists and
per-patient counts are not trivially "one value, every patient".
:func:`read_truth` reads every file back and answers questions the way TCIA
defines them (a patient is a (collection, PatientID) pair; counts are
distinct patients; file sizes are the bytes on disk).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pydicom

from ria.sample import generate_corpus

__all__ = ["BRCA", "LUAD", "Instance", "Truth", "build_tcia_corpus", "read_truth", "sha256_of"]

LUAD = "TCGA-LUAD"
BRCA = "TCGA-BRCA"

# Series shaping, by generate_corpus's series index (even = CT → TCGA-LUAD, odd = MR → TCGA-BRCA).
# A value of None removes the attribute.
_BODY_PARTS: dict[int, str | None] = {
    0: "CHEST", 2: "LUNG", 4: "CHEST", 6: "CHEST", 8: "LUNG", 10: "CHEST", 12: "CHEST",
    1: "BREAST", 3: "BREAST", 5: "BREAST", 7: "BREAST", 9: "BREAST", 11: None,
}  # fmt: skip
# One patient (the one of series 4 and 5) was scanned on another vendor's machines in both collections:
# distinct patients per manufacturer then differ from distinct PatientIDs.
_MANUFACTURERS: dict[int, str] = {4: "SIEMENS", 5: "SIEMENS"}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_tcia_corpus(root: Path) -> Path:
    """Write 63 instances in 13 series (4 LUAD patients, 3 BRCA patients, 2 series per study) under root."""
    generate_corpus(root, 63, series_size=5, series_per_patient=4, seed="ria-tcia-utils")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(root.rglob("*.dcm")):
            index = int(path.parent.name.removeprefix("series-"))
            ds = pydicom.dcmread(path)
            body_part = _BODY_PARTS[index]
            if body_part is None:
                if "BodyPartExamined" in ds:
                    del ds.BodyPartExamined
            else:
                ds.BodyPartExamined = body_part
            if index in _MANUFACTURERS:
                ds.Manufacturer = _MANUFACTURERS[index]
            ds.save_as(path, enforce_file_format=True)
    return root


def _text(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


@dataclass(frozen=True)
class Instance:
    """One file as pydicom reads it, plus its collection (the folder it was ingested from)."""

    path: Path
    collection: str
    patient_id: str
    patient_name: str | None
    patient_sex: str | None
    study_uid: str
    study_date: dt.date | None
    study_description: str | None
    series_uid: str
    series_date: dt.date | None
    sop_uid: str
    instance_number: int
    modality: str
    body_part: str | None
    manufacturer: str | None
    model: str | None
    size: int
    sha256: str
    md5: str


def _date(value: object) -> dt.date | None:
    text = _text(value)
    return dt.datetime.strptime(text, "%Y%m%d").date() if text else None


def _read(path: Path, collection: str) -> Instance:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    data = path.read_bytes()
    return Instance(
        path=path,
        collection=collection,
        patient_id=str(ds.PatientID),
        patient_name=_text(ds.get("PatientName")),
        patient_sex=_text(ds.get("PatientSex")),
        study_uid=str(ds.StudyInstanceUID),
        study_date=_date(ds.get("StudyDate")),
        study_description=_text(ds.get("StudyDescription")),
        series_uid=str(ds.SeriesInstanceUID),
        series_date=_date(ds.get("SeriesDate")),
        sop_uid=str(ds.SOPInstanceUID),
        instance_number=int(ds.InstanceNumber),
        modality=str(ds.Modality),
        body_part=_text(ds.get("BodyPartExamined")),
        manufacturer=_text(ds.get("Manufacturer")),
        model=_text(ds.get("ManufacturerModelName")),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
    )


@dataclass(frozen=True)
class Truth:
    """Every instance of a corpus, with TCIA's questions answered from them."""

    root: Path
    instances: tuple[Instance, ...]

    def folder(self, collection: str) -> Path:
        return self.root / collection

    def collections(self) -> list[str]:
        return sorted({i.collection for i in self.instances})

    def where(
        self,
        *,
        collection: str | None = None,
        patient_id: str | None = None,
        study_uid: str | None = None,
        series_uid: str | None = None,
        modality: str | None = None,
        body_part: str | None = None,
        manufacturer: str | None = None,
        model: str | None = None,
    ) -> list[Instance]:
        wanted = {
            "collection": collection,
            "patient_id": patient_id,
            "study_uid": study_uid,
            "series_uid": series_uid,
            "modality": modality,
            "body_part": body_part,
            "manufacturer": manufacturer,
            "model": model,
        }
        return [
            i
            for i in self.instances
            if all(value is None or getattr(i, key) == value for key, value in wanted.items())
        ]

    def patient_ids(self, collection: str | None = None) -> set[str]:
        return {i.patient_id for i in self.where(collection=collection)}

    def subjects(self, instances: Iterable[Instance] | None = None) -> set[tuple[str, str]]:
        """TCIA's patients: (collection, PatientID) pairs."""
        chosen = self.instances if instances is None else instances
        return {(i.collection, i.patient_id) for i in chosen}

    def series(self, instances: Iterable[Instance] | None = None) -> dict[str, list[Instance]]:
        """Instances grouped by SeriesInstanceUID, each group in InstanceNumber order."""
        groups: dict[str, list[Instance]] = {}
        for i in self.instances if instances is None else instances:
            groups.setdefault(i.series_uid, []).append(i)
        return {uid: sorted(group, key=lambda i: i.instance_number) for uid, group in groups.items()}

    def studies(self, instances: Iterable[Instance] | None = None) -> dict[str, list[Instance]]:
        groups: dict[str, list[Instance]] = {}
        for i in self.instances if instances is None else instances:
            groups.setdefault(i.study_uid, []).append(i)
        return groups

    def by_sop(self) -> dict[str, Instance]:
        return {i.sop_uid: i for i in self.instances}

    def values(self, field: str, instances: Iterable[Instance] | None = None) -> list[str]:
        """Distinct non-empty values of an attribute, sorted."""
        chosen = self.instances if instances is None else instances
        return sorted({value for i in chosen if (value := getattr(i, field)) is not None})

    def patient_counts(self, field: str, instances: Iterable[Instance] | None = None) -> dict[str, int]:
        """Distinct patients ((collection, PatientID) pairs) per non-empty value of an attribute."""
        chosen = list(self.instances if instances is None else instances)
        return {
            value: len(self.subjects(i for i in chosen if getattr(i, field) == value))
            for value in self.values(field, chosen)
        }


def read_truth(root: Path) -> Truth:
    """Every ``*.dcm`` under ``root/<collection>/``, read with pydicom."""
    instances = tuple(_read(path, path.relative_to(root).parts[0]) for path in sorted(root.rglob("*.dcm")))
    return Truth(root, instances)
