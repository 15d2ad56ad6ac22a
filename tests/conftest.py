"""Shared fixtures: real archives in tmp_path, on SQLite and on a real PostgreSQL server.

PostgreSQL tests use the server at ``RIA_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and create a throw-away database
per test. Without a reachable server they are skipped with the reason — except
under CI (``CI`` set), where a missing server is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ria.archive import Archive
from ria.catalog.database import normalise_url
from ria.sample import generate_corpus
from ria.settings import Settings

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


TCGA_DATA = ROOT / "tests" / "data" / "tcga"
PACKAGED_COLLECTIONS = ROOT / "src" / "ria" / "sample" / "data" / "tcga-collections.csv"


def find_tcga_data() -> Path:
    """The real TCGA tables, gzipped in ``tests/data/tcga`` (see its README), read as published.

    They ship with the repository so a clone tests itself anywhere; a missing folder is a
    failure, never a skip, so the genomics tests cannot silently stop running.
    """
    if not (TCGA_DATA / "lung_mutations_by_gene.csv.gz").is_file():
        pytest.fail(f"the TCGA test tables are missing from {TCGA_DATA}: restore tests/data from git")
    return TCGA_DATA


def gunzipped_text(path: Path) -> str:
    """A test's own reading of a gzipped table, independent of Ria's readers."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(scope="session")
def tcga_data() -> Path:
    """Folder of the real TCGA genomic and clinical tables, gzipped (see its README)."""
    return find_tcga_data()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("RIA_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        message = (
            f"no PostgreSQL server reachable at {make_url(url).render_as_string(hide_password=True)}: {exc}"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must run the PostgreSQL tests; .ci/run starts a server)")
        pytest.skip(f"{message}; set RIA_TEST_POSTGRES_URL or start PostgreSQL to run these tests")
    finally:
        engine.dispose()
    return url


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    """The URL of a fresh, empty database on the real server, dropped on leaving (any fixture scope)."""
    name = f"ria_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the real server, dropped afterwards."""
    with throwaway_postgres(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (the embedded SQLite default) or a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, workers=2, batch_size=50)


@pytest.fixture
def archive(settings: Settings) -> Iterator[Archive]:
    with Archive(settings) as opened:
        yield opened


@dataclass(frozen=True)
class Corpus:
    """A generated corpus plus what an independent pydicom read says it contains."""

    root: Path
    files: list[Path]
    sop_uids: set[str]
    series_uids: set[str]
    study_uids: set[str]
    patients: set[str]
    total_bytes: int


def read_corpus(root: Path) -> Corpus:
    files = sorted(p for p in root.rglob("*.dcm"))
    sops, series, studies, patients = set(), set(), set(), set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            sops.add(str(ds.SOPInstanceUID))
            series.add(str(ds.SeriesInstanceUID))
            studies.add(str(ds.StudyInstanceUID))
            patients.add(str(ds.PatientID))
    return Corpus(root, files, sops, series, studies, patients, sum(p.stat().st_size for p in files))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """90 real CT/MR instances in 9 series of 5 patients (read-only: copy before changing)."""
    root = tmp_path_factory.mktemp("corpus")
    generate_corpus(root, 90, series_size=10, series_per_patient=2)
    return read_corpus(root)
