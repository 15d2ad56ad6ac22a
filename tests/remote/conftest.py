"""A real mirror: IDC's TCGA-CHOL index imported as remote series, and for two of them real DICOM files
(pydicom's test images relabelled into each series) where the mirror layout puts ``s3://bucket/prefix/*``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import idc_index_data
import pydicom
import pytest
from pydicom.uid import UID, generate_uid

from ria.archive import Archive
from ria.idc import import_idc
from ria.settings import Settings

SOURCES = ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "JPEG2000.dcm")


@dataclass(frozen=True)
class Chosen:
    """One remote series as IDC's parquet (read here with duckdb, not through Ria) describes it."""

    series_uid: str
    study_uid: str
    patient_id: str
    source_url: str
    image_count: int

    @property
    def key(self) -> str:
        """The object-store folder: ``s3://idc-open-data/<uuid>/*`` → ``idc-open-data/<uuid>``."""
        return self.source_url.removeprefix("s3://").removesuffix("/*")


@dataclass(frozen=True)
class Written:
    """A file written into the mirror: its path, SOPInstanceUID and InstanceNumber."""

    path: Path
    sop_uid: str
    number: int


@pytest.fixture(scope="session")
def chosen() -> list[Chosen]:
    """Two TCGA-CHOL series of different patients, with the smallest image counts in the index."""
    conn = duckdb.connect()
    try:
        rows = conn.execute(
            "SELECT SeriesInstanceUID, StudyInstanceUID, PatientID, series_aws_url, instanceCount "
            f"FROM read_parquet('{idc_index_data.IDC_INDEX_PARQUET_FILEPATH}') "
            "WHERE collection_id = 'tcga_chol' ORDER BY instanceCount, SeriesInstanceUID LIMIT 20"
        ).fetchall()
    finally:
        conn.close()
    picked: list[Chosen] = []
    for row in rows:
        if all(p.patient_id != row[2] for p in picked):
            picked.append(Chosen(row[0], row[1], row[2], row[3], int(row[4])))
    assert len(picked) >= 2 and all(p.image_count <= 8 for p in picked[:2])
    return picked[:2]


def write_series(folder: Path, target: Chosen, count: int, *, series_uid: str | None = None) -> list[Written]:
    """``count`` real DICOM files relabelled into ``target`` (or another series UID), fresh SOP UIDs."""
    written = []
    for number in range(1, count + 1):
        source = pydicom.data.get_testdata_file(SOURCES[(number - 1) % len(SOURCES)])
        assert isinstance(source, str)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(source)
            sop = generate_uid()
            ds.PatientID = target.patient_id
            ds.PatientName = target.patient_id
            ds.StudyInstanceUID = target.study_uid
            ds.SeriesInstanceUID = series_uid or target.series_uid
            ds.SOPInstanceUID = sop
            ds.InstanceNumber = number
            ds.file_meta.MediaStorageSOPInstanceUID = UID(sop)
            path = folder / f"{sop}.dcm"
            folder.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
        written.append(Written(path, str(sop), number))
    return written


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    return tmp_path / "mirror"


@pytest.fixture
def mirrored(archive: Archive, mirror: Path, chosen: list[Chosen]) -> dict[str, list[Written]]:
    """TCGA-CHOL imported; each chosen series' full image count written into the mirror."""
    import_idc(archive, ["tcga_chol"])
    return {c.series_uid: write_series(mirror / c.key, c, c.image_count) for c in chosen}


@pytest.fixture
def fetcher(settings: Settings, mirror: Path, mirrored: dict[str, list[Written]]) -> Iterator[Archive]:
    """A second handle on the same archive, configured with the mirror."""
    with Archive(settings.with_overrides(remote_root=mirror)) as opened:
        yield opened
