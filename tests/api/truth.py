"""What the corpus holds, read independently with pydicom: the expected answers for API tests."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pydicom


@dataclass
class SeriesTruth:
    uid: str
    collection: str
    patient_id: str
    study_uid: str
    modality: str | None
    body_part: str | None
    manufacturer: str | None
    model: str | None
    series_number: int | None
    series_date: dt.date | None
    study_date: dt.date | None
    files: list[Path] = field(default_factory=list)
    sops: dict[str, Path] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.files)


def _date(value: object) -> dt.date | None:
    text = str(value or "").strip()
    return dt.datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None


def _text(ds: pydicom.Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    return str(value).strip() or None if value is not None else None


def read_series(files_by_collection: dict[str, list[Path]]) -> dict[str, SeriesTruth]:
    """Series UID → what the files of that series say, collection as filed."""
    found: dict[str, SeriesTruth] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for collection, files in files_by_collection.items():
            for path in files:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
                uid = str(ds.SeriesInstanceUID)
                entry = found.get(uid)
                if entry is None:
                    number = ds.get("SeriesNumber")
                    entry = found[uid] = SeriesTruth(
                        uid=uid,
                        collection=collection,
                        patient_id=str(ds.PatientID),
                        study_uid=str(ds.StudyInstanceUID),
                        modality=_text(ds, "Modality"),
                        body_part=_text(ds, "BodyPartExamined"),
                        manufacturer=_text(ds, "Manufacturer"),
                        model=_text(ds, "ManufacturerModelName"),
                        series_number=int(number) if number not in (None, "") else None,
                        series_date=_date(ds.get("SeriesDate")),
                        study_date=_date(ds.get("StudyDate")),
                    )
                entry.files.append(path)
                entry.sops[str(ds.SOPInstanceUID)] = path
    return found


def corpus_by_collection(root: Path) -> dict[str, list[Path]]:
    """The test corpus is filed by its folder: TCGA-LUAD/… and TCGA-BRCA/…."""
    return {name: sorted((root / name).rglob("*.dcm")) for name in ("TCGA-LUAD", "TCGA-BRCA")}
