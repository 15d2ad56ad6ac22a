"""Build corpora from pydicom's real test images, re-keyed to TCGA-style patients.

The images are real scanner output bundled with pydicom (and, when installed,
the ``pydicom-data`` package). We only rewrite identifying attributes — patient
ID/name to a TCGA barcode, and fresh, deterministic UIDs — so that copies can
be filed as distinct instances, series and patients. Pixel data and every other
attribute stay as the scanner wrote them. Files are located on disk directly:
nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pydicom.data
from pydicom.dataset import Dataset
from pydicom.uid import UID

from ria.dicom.uids import derive_uid
from ria.errors import NotFoundError

__all__ = [
    "DEMO_COLLECTIONS",
    "DEMO_DESCRIPTIONS",
    "DEMO_TABLES",
    "CorpusInfo",
    "find_test_file",
    "generate_corpus",
    "write_demo_corpus",
]

# Real TCGA participant barcodes (LUAD patients in the GDC MAF, BRCA patients in the
# TCGA survival table), so the demo archive links to real genomics later.
DEMO_COLLECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CT": ("TCGA-LUAD", ("TCGA-05-4244", "TCGA-05-4249", "TCGA-05-4250")),
    "MR": ("TCGA-BRCA", ("TCGA-3C-AAAU", "TCGA-3C-AALI", "TCGA-3C-AALJ")),
}

# What TCIA publishes for the demo's collections (TCIA's TCGA collections are CC BY 3.0), so the
# demo's getSeries, LICENSE files and DOI lookups show real licence and citation data.
CC_BY_3 = ("Creative Commons Attribution 3.0 Unported License", "http://creativecommons.org/licenses/by/3.0/")
DEMO_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "TCGA-LUAD": ("Lung adenocarcinoma", "10.7937/K9/TCIA.2016.JGNIHEP5"),
    "TCGA-BRCA": ("Breast invasive carcinoma", "10.7937/K9/TCIA.2016.AB2NAZRP"),
}

# The real TCGA tables in ``ria/sample/data`` that ``ria demo`` imports (provenance in its README):
# lung mutations and mutation counts for the cohort examples, and BRCA/OV survival so that the
# README's TCGA-OV cohort and its survival curves answer with real patients.
DEMO_TABLES: tuple[str, ...] = (
    "tcga_lung_mutations_by_gene.csv.gz",
    "tcga_lung_patients.csv.gz",
    "tcga_brca_ov_survival.csv.gz",
)

# Real CT and MR images: bundled with pydicom, then those pydicom-data adds.
DEMO_FILES: tuple[str, ...] = (
    "CT_small.dcm",
    "693_J2KI.dcm",
    "J2K_pixelrep_mismatch.dcm",
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_padded.dcm",
    "examples_overlay.dcm",
    "explicit_VR-UN.dcm",
    "emri_small.dcm",
    "emri_small_RLE.dcm",
    "693_UNCR.dcm",
    "MR2_J2KI.dcm",
)


def find_test_file(name: str) -> Path:
    """Path of a pydicom test file shipped in pydicom or pydicom-data (never downloads)."""
    candidates = [Path(pydicom.data.__file__).parent / "test_files" / name]
    spec = importlib.util.find_spec("data_store")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "data" / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise NotFoundError(f"pydicom test file {name} is not installed (pip install pydicom-data for more)")


@dataclass
class CorpusInfo:
    """What a generated corpus holds: a folder per collection and the counts."""

    root: Path
    folders: dict[str, Path] = field(default_factory=dict)
    instances: int = 0
    series: int = 0
    patients: int = 0
    bytes: int = 0


def _read(path: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _rekey(ds: Dataset, barcode: str, study_uid: str, series_uid: str, sop_uid: str, number: int) -> None:
    ds.PatientID = barcode
    ds.PatientName = barcode
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = number
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)


def _save(ds: Dataset, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path, enforce_file_format=True)
    return path.stat().st_size


def write_demo_corpus(root: Path) -> CorpusInfo:
    """Write every available demo CT/MR file, re-keyed, under ``root/<collection>/``.

    CT images go to TCGA-LUAD and MR images to TCGA-BRCA; each source file is its
    own series, and patients take turns. Deterministic: the same call writes the
    same UIDs, so re-running the demo finds duplicates, not new data.
    """
    info = CorpusInfo(root=root)
    turns: dict[str, int] = {}
    patients: set[str] = set()
    for name in DEMO_FILES:
        try:
            source = find_test_file(name)
        except NotFoundError:
            continue
        ds = _read(source)
        modality = str(ds.get("Modality", ""))
        if modality not in DEMO_COLLECTIONS:
            continue
        collection, barcodes = DEMO_COLLECTIONS[modality]
        turn = turns.get(modality, 0)
        turns[modality] = turn + 1
        barcode = barcodes[turn % len(barcodes)]
        study_uid = derive_uid("ria-demo", barcode, "study", modality)
        series_uid = derive_uid("ria-demo", barcode, "series", name)
        sop_uid = derive_uid("ria-demo", barcode, "instance", name)
        _rekey(ds, barcode, study_uid, series_uid, sop_uid, 1)
        folder = root / collection
        info.folders[collection] = folder
        info.bytes += _save(ds, folder / barcode / f"{Path(name).stem}.dcm")
        info.instances += 1
        info.series += 1
        patients.add(barcode)
    info.patients = len(patients)
    return info


def _barcode(index: int) -> str:
    """A well-formed TCGA participant barcode: TCGA-<2-char site>-<4-char participant>."""
    sites = ("05", "3C", "A2", "BH", "E2", "50", "64", "86")
    return f"TCGA-{sites[index % len(sites)]}-{index:04X}"


def generate_corpus(
    root: Path,
    instances: int,
    *,
    templates: Sequence[str] = ("CT_small.dcm", "MR_small.dcm"),
    series_size: int = 100,
    series_per_patient: int = 2,
    seed: str = "ria-bench",
) -> CorpusInfo:
    """Write ``instances`` files under ``root/<collection>/<patient>/<series>/``.

    Series alternate between the templates (CT → TCGA-LUAD, MR → TCGA-BRCA);
    each series holds ``series_size`` instances of its template with new UIDs.
    """
    info = CorpusInfo(root=root)
    loaded = [_read(find_test_file(name)) for name in templates]
    series_index = 0
    written = 0
    patients: set[str] = set()
    while written < instances:
        template = loaded[series_index % len(loaded)]
        modality = str(template.get("Modality", "OT"))
        collection = DEMO_COLLECTIONS.get(modality, ("RIA-SAMPLES", ()))[0]
        barcode = _barcode(series_index // series_per_patient)
        study_uid = derive_uid(seed, barcode, "study", modality)
        series_uid = derive_uid(seed, barcode, "series", str(series_index))
        folder = root / collection / barcode / f"series-{series_index:05d}"
        for number in range(1, min(series_size, instances - written) + 1):
            sop_uid = derive_uid(seed, series_uid, str(number))
            _rekey(template, barcode, study_uid, series_uid, sop_uid, number)
            info.bytes += _save(template, folder / f"{number:05d}.dcm")
            written += 1
        info.folders[collection] = root / collection
        info.series += 1
        patients.add(barcode)
        series_index += 1
    info.instances = written
    info.patients = len(patients)
    return info
