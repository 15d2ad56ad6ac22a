"""Importing IDC's real series index: counts, values and collection records checked against duckdb."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import duckdb
import pydicom
import pytest
from sqlalchemy import func, select, text, update

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.schema import patient, series, study
from ria.catalog.search import SeriesFilter
from ria.errors import ConfigurationError, InvalidParameterError
from ria.idc import ImportProgress, import_idc, licence, open_index, tcia_name
from ria.idc.vocabulary import TCGA_CANCER_TYPES, idc_collection_id, normalise_doi
from ria.sample import find_test_file

CHOSEN = ("tcga_luad", "TCGA-BRCA")
CHOSEN_IDS = ("tcga_luad", "tcga_brca")


def truth_counts(idc: duckdb.DuckDBPyConnection, idc_id: str) -> tuple[int, int, int, int, int]:
    """Series, patients, studies, images and bytes of one collection, as duckdb reads the parquet."""
    row = idc.execute(
        "SELECT count(*), count(DISTINCT PatientID), count(DISTINCT StudyInstanceUID), sum(instanceCount), "
        "CAST(sum(round(series_size_MB * 1e6)) AS BIGINT) FROM idc WHERE collection_id = ?",
        [idc_id],
    ).fetchone()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))


def truth_modalities(idc: duckdb.DuckDBPyConnection, idc_id: str) -> tuple[str, ...]:
    rows = idc.execute(
        "SELECT DISTINCT Modality FROM idc WHERE collection_id = ? AND Modality IS NOT NULL ORDER BY 1",
        [idc_id],
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def table_count(archive: Archive, table: Any) -> int:
    with archive.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def imported(archive: Archive) -> Archive:
    report = import_idc(archive, CHOSEN)
    assert [c.idc_id for c in report.collections] == list(CHOSEN_IDS)
    return archive


def test_counts_and_modalities_match_the_parquet(imported: Archive, idc: duckdb.DuckDBPyConnection) -> None:
    stats = {s.name: s for s in imported.catalog.collection_stats(principal=OPERATOR)}
    assert sorted(stats) == ["TCGA-BRCA", "TCGA-LUAD"]
    for idc_id in CHOSEN_IDS:
        n_series, n_patients, n_studies, images, size = truth_counts(idc, idc_id)
        got = stats[idc_id.upper().replace("_", "-")]
        assert (got.series, got.patients, got.studies, got.instances, got.bytes) == (
            n_series,
            n_patients,
            n_studies,
            images,
            size,
        )
        assert tuple(sorted(got.modalities)) == truth_modalities(idc, idc_id)
    assert table_count(imported, series) == sum(truth_counts(idc, i)[0] for i in CHOSEN_IDS)


def test_sampled_rows_match_field_by_field(imported: Archive, idc: duckdb.DuckDBPyConnection) -> None:
    sample = idc.execute(
        """
        SELECT collection_id, SeriesInstanceUID, PatientID, StudyInstanceUID,
               nullif(trim(Modality), ''), TRY_CAST(SeriesDate AS DATE),
               nullif(trim(SeriesDescription), ''), nullif(trim(BodyPartExamined), ''),
               TRY_CAST(SeriesNumber AS INTEGER), nullif(trim(Manufacturer), ''),
               nullif(trim(ManufacturerModelName), ''), instanceCount,
               CAST(round(series_size_MB * 1e6) AS BIGINT), series_aws_url
        FROM idc WHERE collection_id IN ('tcga_luad', 'tcga_brca')
        ORDER BY hash(SeriesInstanceUID) LIMIT 60
        """
    ).fetchall()
    # Sex, age, study date and description are per series in the index, per patient or study in the
    # catalogue: the stored value is one of the patient's or study's, an original series' if it has one.
    sexes = dict(
        idc.execute(
            "SELECT PatientID, list(DISTINCT PatientSex) FILTER (WHERE PatientSex IS NOT NULL) FROM idc "
            "WHERE collection_id IN ('tcga_luad', 'tcga_brca') GROUP BY 1"
        ).fetchall()
    )
    ages = dict(
        idc.execute(
            "SELECT StudyInstanceUID, list(DISTINCT PatientAge) FILTER (WHERE PatientAge IS NOT NULL) "
            "FROM idc WHERE collection_id IN ('tcga_luad', 'tcga_brca') GROUP BY 1"
        ).fetchall()
    )
    studies = {
        uid: values
        for uid, *values in idc.execute(
            """
            SELECT StudyInstanceUID,
                   list(DISTINCT d) FILTER (WHERE analysis_result_id IS NULL AND d IS NOT NULL),
                   list(DISTINCT d) FILTER (WHERE d IS NOT NULL),
                   list(DISTINCT t) FILTER (WHERE analysis_result_id IS NULL AND t IS NOT NULL),
                   list(DISTINCT t) FILTER (WHERE t IS NOT NULL)
            FROM (
                SELECT *, TRY_CAST(StudyDate AS DATE) AS d, nullif(trim(StudyDescription), '') AS t FROM idc
            )
            WHERE collection_id IN ('tcga_luad', 'tcga_brca') GROUP BY 1
            """
        ).fetchall()
    }
    assert any(row[5] is not None for row in sample)
    rows = imported.catalog.series(
        SeriesFilter(series_instance_uid=tuple(r[1] for r in sample)), principal=OPERATOR
    )
    by_uid = {row.series_instance_uid: row for row in rows}
    assert len(by_uid) == len(sample)
    for expected in sample:
        got = by_uid[expected[1]]
        assert (
            got.collection,
            got.series_instance_uid,
            got.patient_id,
            got.study_instance_uid,
            got.modality,
            got.series_date,
            got.series_description,
            got.body_part_examined,
            got.series_number,
            got.manufacturer,
            got.manufacturer_model_name,
            got.image_count,
            got.file_size,
            got.source_url,
        ) == (expected[0].upper().replace("_", "-"), *expected[1:])
        assert got.is_remote is True
        assert got.source_url is not None and got.source_url.startswith("s3://")
        dates, all_dates, descriptions, all_descriptions = studies[got.study_instance_uid]
        assert got.study_date in (dates or all_dates or [None])
        assert got.study_description in (descriptions or all_descriptions or [None])
        assert got.patient_sex in (sexes[got.patient_id] or [None])
        assert got.patient_age in (ages[got.study_instance_uid] or [None])


def test_collections_are_described(imported: Archive, tcga_collections: dict[str, dict[str, str]]) -> None:
    for name in ("TCGA-LUAD", "TCGA-BRCA"):
        info = imported.catalog.collection(name, principal=OPERATOR)
        assert info is not None
        assert info.doi == tcga_collections[name]["doi"]
        assert info.description is not None
        assert info.description.startswith(tcga_collections[name]["cancer_type"])
        assert (info.license_name, info.license_uri) == (
            "Creative Commons Attribution 3.0 Unported License",
            "https://creativecommons.org/licenses/by/3.0/",
        )


def test_rerun_changes_nothing_then_repairs_a_changed_series(
    imported: Archive, idc: duckdb.DuckDBPyConnection
) -> None:
    before = [table_count(imported, t) for t in (patient, study, series)]
    again = import_idc(imported, ["TCGA-LUAD", "tcga-brca"])
    n_series = sum(truth_counts(idc, i)[0] for i in CHOSEN_IDS)
    assert again.total("series_added") == again.total("patients_added") == again.total("studies_added") == 0
    assert again.total("series_unchanged") == again.total("rows") == n_series
    assert [table_count(imported, t) for t in (patient, study, series)] == before

    uid, count = idc.execute(
        "SELECT SeriesInstanceUID, instanceCount FROM idc WHERE collection_id = 'tcga_luad' "
        "ORDER BY SeriesInstanceUID LIMIT 1"
    ).fetchone() or ("", 0)
    with imported.engine.begin() as conn:
        conn.execute(
            update(series)
            .where(series.c.series_instance_uid == uid)
            .values(image_count=count + 7, source_url="s3://elsewhere/")
        )
    repaired = import_idc(imported, ["TCGA-LUAD"])
    assert (repaired.total("series_updated"), repaired.total("series_unchanged")) == (
        1,
        truth_counts(idc, "tcga_luad")[0] - 1,
    )
    (row,) = imported.catalog.series(SeriesFilter(series_instance_uid=uid), principal=OPERATOR)
    assert row.image_count == count
    assert row.source_url is not None and row.source_url.startswith("s3://idc-open-data/")


def test_a_local_series_beats_its_index_entry(
    archive: Archive, idc: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    patient_id, study_uid, series_uid = idc.execute(
        "SELECT PatientID, StudyInstanceUID, SeriesInstanceUID FROM idc WHERE collection_id = 'tcga_chol' "
        "ORDER BY SeriesInstanceUID LIMIT 1"
    ).fetchone() or ("", "", "")
    ds = pydicom.dcmread(find_test_file("CT_small.dcm"))
    ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID = patient_id, study_uid, series_uid
    ds.save_as(tmp_path / "local.dcm")
    assert archive.ingest([tmp_path / "local.dcm"], "TCGA-CHOL", workers=1).ingested == 1

    report = import_idc(archive, ["TCGA-CHOL"])
    n_series = truth_counts(idc, "tcga_chol")[0]
    assert (report.total("series_skipped_local"), report.total("series_added")) == (1, n_series - 1)
    (local,) = archive.catalog.series(SeriesFilter(series_instance_uid=series_uid), principal=OPERATOR)
    assert (local.is_remote, local.image_count, local.source_url) == (False, 1, None)
    assert len(archive.catalog.series(SeriesFilter(collection="TCGA-CHOL"), principal=OPERATOR)) == n_series
    again = import_idc(archive, ["tcga_chol"])
    assert (again.total("series_skipped_local"), again.total("series_unchanged")) == (1, n_series - 1)


def test_a_study_filed_under_another_patient_is_a_conflict(
    archive: Archive, idc: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    study_uid, n_study_series = idc.execute(
        "SELECT StudyInstanceUID, count(*) FROM idc WHERE collection_id = 'tcga_chol' "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone() or ("", 0)
    ds = pydicom.dcmread(find_test_file("CT_small.dcm"))
    ds.PatientID, ds.StudyInstanceUID = "NOT-A-TCGA-PATIENT", study_uid
    ds.save_as(tmp_path / "local.dcm")
    assert archive.ingest([tmp_path / "local.dcm"], "TCGA-CHOL", workers=1).ingested == 1

    report = import_idc(archive, ["TCGA-CHOL"])
    assert report.total("series_conflicts") == n_study_series
    assert report.total("series_added") == truth_counts(idc, "tcga_chol")[0] - n_study_series


def test_unknown_collection_names_close_matches(archive: Archive) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        import_idc(archive, ["TCGA-LAUD"])
    assert "TCGA-LAUD" in raised.value.message
    assert "TCGA-LUAD" in raised.value.details["close_matches"]
    assert raised.value.http_status == 400 and raised.value.exit_code == 2
    assert archive.catalog.collection_names(principal=OPERATOR) == []


def test_names_resolve_either_way_and_default_to_all_tcga(idc: duckdb.DuckDBPyConnection) -> None:
    index = open_index()
    assert index.resolve(["TCGA-LUAD", "tcga_luad", "Tcga-Luad", "nlst"]) == ["tcga_luad", "nlst"]
    tcga = sorted(r[0] for r in idc.execute("SELECT DISTINCT collection_id FROM idc").fetchall())
    assert index.resolve(None) == [c for c in tcga if c.startswith("tcga_")]
    assert tcia_name("nlst") == "NLST" and idc_collection_id("TCGA-LUAD") == "tcga_luad"
    assert index.version is not None


def test_vocabulary(tcga_collections: dict[str, dict[str, str]]) -> None:
    assert len(TCGA_CANCER_TYPES) == 33
    for name, row in tcga_collections.items():
        assert TCGA_CANCER_TYPES[name.removeprefix("TCGA-")].lower() == row["cancer_type"].lower()
    assert normalise_doi("https://doi.org/10.7937/k9/tcia.2016.jgnihep5") == "10.7937/K9/TCIA.2016.JGNIHEP5"
    assert licence("CC BY-NC 4.0").uri == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert licence("National Library of Medicine Terms").uri is None


def test_missing_or_foreign_parquet(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="no IDC index parquet"):
        import_idc(archive, parquet=tmp_path / "absent.parquet")
    (tmp_path / "not.parquet").write_text("hello")
    with pytest.raises(InvalidParameterError, match="not a readable parquet"):
        import_idc(archive, parquet=tmp_path / "not.parquet")


def test_missing_package_says_how_to_install(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "idc_index_data", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'ria\[idc\]'"):
        import_idc(archive)


def test_all_of_tcga(archive: Archive, idc: duckdb.DuckDBPyConnection) -> None:
    """Scale: every TCGA series, and the totals agree.

    On PostgreSQL this also guards the statistics refresh (without it the import took 40 s, not 3 s):
    the planner's row estimates must know the tables' real size once the import returns. Speed itself
    is shown by bench/, not timed here.
    """
    expected = dict(
        idc.execute(
            "SELECT collection_id, count(*) FROM idc WHERE collection_id LIKE 'tcga_%' GROUP BY 1"
        ).fetchall()
    )
    steps: list[ImportProgress] = []
    report = import_idc(archive, progress=steps.append)
    assert {c.idc_id: c.series_added for c in report.collections} == expected
    assert table_count(archive, series) == sum(expected.values())
    if archive.engine.dialect.name == "postgresql":
        with archive.engine.connect() as conn:
            estimate = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'series'")).scalar()
        assert estimate is not None and estimate >= 0.9 * sum(expected.values()), "series was not analysed"
    described = [archive.catalog.collection(c.name, principal=OPERATOR) for c in report.collections]
    assert all(info is not None and info.doi and info.license_uri for info in described)
    assert report.to_json()["totals"]["series_added"] == sum(expected.values())
    assert f"{sum(expected.values())} series added" in report.summary()
    done = [step.done for step in steps]
    assert done == sorted(done) and done[-1] == steps[-1].total == sum(expected.values())
    assert {step.collection for step in steps} == {c.name for c in report.collections}
