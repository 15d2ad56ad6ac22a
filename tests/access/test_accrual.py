"""Accrual from real ingests under real TCGA barcodes: site codes, cases over time, the embargo they start."""

from __future__ import annotations

import datetime as dt
import io
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pytest
from alembic import command
from alembic.config import Config
from PIL import Image
from sqlalchemy import select, update

from ria.access.accrual import accrual_report
from ria.access.governance import CollectionChanges, change_settings, parse_embargo_start
from ria.archive import Archive
from ria.catalog.accrual import site_code_of
from ria.catalog.database import MIGRATIONS, upgrade_schema
from ria.catalog.schema import collection, patient
from ria.genomics.barcode import TcgaBarcode
from ria.sample import find_test_file
from tests.conftest import Corpus

LUAD = "TCGA-LUAD"


def patient_ids(folder: Path) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {str(pydicom.dcmread(p, stop_before_pixels=True).PatientID) for p in folder.rglob("*.dcm")}


def ingest_patient_by_patient(archive: Archive, corpus: Corpus) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """Each LUAD patient's folder in its own ingest: (PatientID, time before, time after)."""
    arrivals = []
    for folder in sorted((corpus.root / LUAD).iterdir()):
        (pid,) = patient_ids(folder)
        before = dt.datetime.now(dt.UTC)
        report = archive.ingest([folder], LUAD, workers=1)
        assert report.ingested > 0
        arrivals.append((pid, before, dt.datetime.now(dt.UTC)))
    return arrivals


def embargo_row(archive: Archive) -> tuple[dt.datetime | None, dt.datetime | None]:
    with archive.engine.connect() as conn:
        start, ends = conn.execute(
            select(collection.c.hundredth_case_at, collection.c.embargo_ends_at).where(
                collection.c.name == LUAD
            )
        ).one()
    utc = [
        None if v is None else (v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v) for v in (start, ends)
    ]
    return utc[0], utc[1]


def settle(archive: Archive, **changes: Any) -> None:
    change_settings(archive.engine, LUAD, CollectionChanges(**changes), actor="tester", reason="test")


@pytest.mark.parametrize(
    "pid",
    [
        "TCGA-05-4244",
        "TCGA-3C-AAAU",
        "tcga-a2-a0t2",
        "TCGA-05-4244-01A-01D-1105-08",
        "TCGA-02-0001-01Z-00-DX1",
    ],
)
def test_site_code_agrees_with_the_barcode_parser(pid: str) -> None:
    assert site_code_of(pid) == TcgaBarcode.parse(pid).tissue_source_site


@pytest.mark.parametrize("pid", ["1CT1", "TCGA-5-4244", "TCGA-05-42445", "TCGA05-4244", "", "TCGA-0!-4244"])
def test_non_tcga_patient_ids_have_no_site(pid: str) -> None:
    assert site_code_of(pid) is None


def test_ingest_records_each_patients_site(archive: Archive, corpus: Corpus) -> None:
    archive.ingest([corpus.root], LUAD, workers=1)
    plain = find_test_file("CT_small.dcm")  # a real CT whose PatientID is not a TCGA barcode
    archive.ingest([plain], "RIA-SAMPLES", workers=1)
    with archive.engine.connect() as conn:
        stored = dict(conn.execute(select(patient.c.patient_id, patient.c.site_code)).all())
    expected: dict[str, str | None] = {pid: pid.split("-")[1] for pid in corpus.patients}
    expected[str(pydicom.dcmread(plain, stop_before_pixels=True).PatientID)] = None
    assert stored == expected


def test_migration_backfills_site_codes_of_older_rows(archive: Archive, corpus: Corpus) -> None:
    archive.ingest([corpus.root], LUAD, workers=1)
    with archive.engine.begin() as conn:
        conn.execute(update(patient).values(site_code=None))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with archive.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    upgrade_schema(archive.engine)
    with archive.engine.connect() as conn:
        stored = dict(conn.execute(select(patient.c.patient_id, patient.c.site_code)).all())
    assert stored == {pid: TcgaBarcode.parse(pid).tissue_source_site for pid in corpus.patients}


def test_threshold_case_starts_the_embargo_in_the_same_ingest(archive: Archive, corpus: Corpus) -> None:
    settle(archive, embargo_threshold=3, embargo_days=30)
    arrivals: list[tuple[str, dt.datetime, dt.datetime]] = []
    for folder in sorted((corpus.root / LUAD).iterdir()):
        (pid,) = patient_ids(folder)
        before = dt.datetime.now(dt.UTC)
        archive.ingest([folder], LUAD, workers=1)
        arrivals.append((pid, before, dt.datetime.now(dt.UTC)))
        start, ends = embargo_row(archive)
        if len(arrivals) < 3:
            assert (start, ends) == (None, None)
            assert accrual_report(archive, LUAD).collections[0].status == "none"
    start, ends = embargo_row(archive)
    assert start is not None and ends is not None
    assert arrivals[2][1] <= start <= arrivals[2][2]
    assert ends == start + dt.timedelta(days=30)

    report = accrual_report(archive, LUAD)
    (luad,) = report.collections
    assert luad.cases == len(arrivals) == 5
    assert luad.by_site == {TcgaBarcode.parse(pid).tissue_source_site: 1 for pid, _, _ in arrivals}
    assert luad.hundredth_case_at == start and luad.embargo_ends_at == ends
    assert luad.threshold_reached_at == start and luad.days_to_threshold == (start - arrivals[0][1]).days == 0
    assert luad.status == "active" and luad.notice is not None
    over_time = report.to_json()["collections"][0]["over_time"]
    assert over_time[0]["period"] == arrivals[0][1].date().isoformat() and over_time[-1]["cases"] == 5
    assert sum(entry["new"] for entry in over_time) == 5
    assert (
        accrual_report(archive, LUAD, at=ends - dt.timedelta(microseconds=1)).collections[0].status
        == "active"
    )
    assert accrual_report(archive, LUAD, at=ends).collections[0].status == "ended"
    # Evaluated before the third case arrived, the report counts only what had arrived then.
    assert accrual_report(archive, LUAD, at=arrivals[1][2]).collections[0].cases == 2
    assert accrual_report(archive, LUAD, period="month").collections[0].cumulative[-1][2] == 5


def test_changing_threshold_or_window_recomputes(archive: Archive, corpus: Corpus) -> None:
    settle(archive, embargo_threshold=3)
    arrivals = ingest_patient_by_patient(archive, corpus)
    third, _ = embargo_row(archive)
    assert third is not None and arrivals[2][1] <= third <= arrivals[2][2]
    settle(archive, embargo_threshold=10)
    assert embargo_row(archive) == (None, None)
    settle(archive, embargo_threshold=4, embargo_days=7)
    fourth, ends = embargo_row(archive)
    assert fourth is not None and arrivals[3][1] <= fourth <= arrivals[3][2]
    assert ends == fourth + dt.timedelta(days=7)


def test_curator_start_rules_until_auto(archive: Archive, corpus: Corpus) -> None:
    settle(archive, embargo_start=parse_embargo_start("2020-01-01"), embargo_threshold=2)
    ingest_patient_by_patient(archive, corpus)
    start, ends = embargo_row(archive)
    assert start == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert ends == dt.datetime(2020, 12, 31, tzinfo=dt.UTC)  # 365 days (2020 is a leap year)
    assert accrual_report(archive, LUAD).collections[0].status == "ended"
    settle(archive, embargo_start="auto")
    start, ends = embargo_row(archive)
    (luad,) = accrual_report(archive, LUAD).collections
    assert start is not None and start == luad.arrivals[1] and ends == start + dt.timedelta(days=365)


def test_chart_is_a_png_of_every_collection(archive: Archive, corpus: Corpus) -> None:
    settle(archive, embargo_threshold=2)
    archive.ingest([corpus.root / LUAD], LUAD, workers=1)
    archive.ingest([corpus.root / "TCGA-BRCA"], "TCGA-BRCA", workers=1)
    report = accrual_report(archive)
    assert [c.name for c in report.collections] == sorted([LUAD, "TCGA-BRCA"])
    png = report.render_png()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (900, 500)
