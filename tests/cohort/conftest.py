"""A real radiogenomic archive, built once per database for the cohort tests.

Imaging: the IDC index's series of seven TCGA collections (remote series) plus real pydicom CT/MR
files ingested locally under real TCGA barcodes. Genomics and clinical data: the shared TCGA tables as
published. The expected answers come from :mod:`tests.cohort.truth` (DuckDB and pandas over the same
source files), never from Ria.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ria.archive import Archive
from ria.catalog.database import normalise_url
from ria.sample.corpus import write_demo_corpus
from ria.settings import Settings

IDC_COLLECTIONS = ("tcga_luad", "tcga_lusc", "tcga_brca", "tcga_ov", "tcga_gbm", "tcga_lgg", "tcga_coad")
GENOMIC_TABLES = (
    "tcga_luad_6patients.maf.gz",
    "lung_mutations_by_gene.csv.gz",
    "lung_patients.csv.gz",
    "tcga_glioma_idh_status.csv.gz",
    "tcga_brca_ov_survival.csv.gz",
    "tcga_coad_biotab_clinical_patient_coad.tsv.gz",
    "tcga_coad_biotab_clinical_follow_up_v1.0_coad.tsv.gz",
    "tcga_subtypes.csv.gz",
)


@dataclass(frozen=True)
class LocalSeries:
    collection: str
    patient_id: str
    series_instance_uid: str
    modality: str


@dataclass(frozen=True)
class Radiogenomic:
    archive: Archive
    settings: Settings
    local: tuple[LocalSeries, ...]
    """What pydicom reads from the locally ingested files (not what Ria catalogued)."""


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def radiogenomic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tcga_data: Path
) -> Iterator[Radiogenomic]:
    from ria.genomics import import_file
    from ria.idc import import_idc

    root = tmp_path_factory.mktemp(f"radiogenomic-{request.param}")
    database: str | None = None
    admin_url: str | None = None
    if request.param == "postgresql":
        admin_url = request.getfixturevalue("postgres_admin_url")
        database = f"ria_test_{uuid.uuid4().hex[:16]}"
        admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
    url = None
    if database is not None and admin_url is not None:
        url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    settings = Settings(data_dir=root / "data", database_url=url, workers=1)
    corpus = write_demo_corpus(root / "corpus")
    local = []
    for collection, folder in corpus.folders.items():
        for path in sorted(folder.rglob("*.dcm")):
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            local.append(LocalSeries(collection, ds.PatientID, ds.SeriesInstanceUID, ds.Modality))
    try:
        with Archive(settings) as archive:
            for collection, folder in sorted(corpus.folders.items()):
                archive.ingest([folder], collection, workers=1, write_report=False)
            import_idc(archive, IDC_COLLECTIONS)
            for name in GENOMIC_TABLES:
                import_file(archive, tcga_data / name)
            yield Radiogenomic(archive, settings, tuple(sorted(set(local), key=str)))
    finally:
        if database is not None and admin_url is not None:
            admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="module")
def truth(radiogenomic: Radiogenomic, tcga_data: Path) -> Any:
    """The independent answers (:class:`tests.cohort.truth.Truth`) for this module's archive."""
    from tests.cohort.truth import Truth  # truth.py reads this module's constants: import it late

    return Truth(tcga_data, radiogenomic.local)
