"""Manifests written and read back: .tcia (as NBIA Data Retriever and tcia_utils read it) and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ria.catalog.search import SeriesRow
from ria.errors import InvalidParameterError
from ria.manifest import (
    CSV_COLUMNS,
    ManifestFormat,
    iter_csv_manifest,
    iter_tcia_manifest,
    parse_manifest,
    read_manifest,
)

# DICOM UIDs: dot-separated numbers without leading zeros, at most 64 characters.
_component = st.integers(min_value=0, max_value=10**12).map(str)
uids = st.lists(_component, min_size=2, max_size=6).map(".".join).filter(lambda u: len(u) <= 64)


def _row(uid: str, collection: str = "TCGA-LUAD") -> SeriesRow:
    return SeriesRow(
        collection=collection,
        patient_id="TCGA-05-4244",
        study_instance_uid="1.2.3",
        study_date=dt.date(2004, 1, 19),
        study_description="chest, with contrast",
        series_instance_uid=uid,
        modality="CT",
        protocol_name=None,
        series_date=None,
        series_description='axial "lung"',
        body_part_examined="CHEST",
        series_number=2,
        manufacturer="GE",
        manufacturer_model_name=None,
        software_versions=None,
        image_count=3,
        file_size=1234,
        is_remote=False,
        source_url=None,
        released_at=None,
        updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        patient_sex=None,
        patient_age=None,
        admitting_diagnoses_description=None,
    )


@given(st.lists(uids, min_size=1, max_size=30, unique=True))
def test_tcia_manifest_round_trips(series: list[str]) -> None:
    text = "".join(
        iter_tcia_manifest(series, download_server_url="http://h/getImage", include_annotation=False)
    )
    lines = text.splitlines()
    assert len(lines) == 6 + len(series)
    assert [line.split("=")[0] for line in lines[:6]] == [
        "downloadServerUrl",
        "includeAnnotation",
        "noOfrRetry",
        "databasketId",
        "manifestVersion",
        "ListOfSeriesToDownload",
    ]
    assert lines[6:] == series  # what tcia_utils.manifestToList keeps: everything after six lines
    manifest = parse_manifest(text)
    assert manifest.format is ManifestFormat.TCIA
    assert manifest.series_uids == tuple(series)
    assert manifest.include_annotation is False
    assert manifest.download_server_url == "http://h/getImage"


@given(st.lists(uids, min_size=1, max_size=30, unique=True))
def test_csv_manifest_round_trips_through_the_csv_module(series: list[str]) -> None:
    text = "".join(iter_csv_manifest(_row(uid) for uid in series))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["SeriesInstanceUID"] for row in rows] == series
    assert rows[0]["SeriesDescription"] == 'axial "lung"'
    assert parse_manifest(text).series_uids == tuple(series)


def test_csv_manifests_from_other_tools_are_read(tmp_path: Path) -> None:
    path = tmp_path / "portal.csv"
    path.write_text(
        "\ufeffCollection,Series UID\nTCGA-LUAD,1.2.3\nTCGA-LUAD,1.2.4\nTCGA-LUAD,1.2.3\n", encoding="utf-8"
    )
    manifest = read_manifest(path)
    assert manifest.format is ManifestFormat.CSV
    assert manifest.series_uids == ("1.2.3", "1.2.4")  # repeats collapse, order kept


def test_comments_and_blank_lines_are_skipped() -> None:
    text = "downloadServerUrl=x\n# embargo note\n\nListOfSeriesToDownload=\n1.2.3\n\n1.2.4\n"
    assert parse_manifest(text).series_uids == ("1.2.3", "1.2.4")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("hello world\n", "not a valid UID"),
        ("ListOfSeriesToDownload=\n1.2.3\n1.02.x\n", "line 3"),
        ("SeriesInstanceUID\n1.2.3\nnot-a-uid\n", "line 3"),
    ],
)
def test_bad_manifests_name_the_problem(text: str, needle: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        parse_manifest(text)
    assert needle in caught.value.message


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="cannot read"):
        read_manifest(tmp_path / "missing.tcia")
    binary = tmp_path / "binary.tcia"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InvalidParameterError, match="not a text manifest"):
        read_manifest(binary)
