"""TCIA's own Python client, ``tcia_utils`` from PyPI, unmodified, against a live Ria on loopback.

Only the client's base-URL function ``tcia_utils.nbia.setApiUrl`` is replaced
(keeping its v1/v4 choice); every request, parameter spelling, date format and
response parsing is the client's own. Each expected value comes from reading
the ingested files with pydicom (:mod:`tests.api.tcia_truth`), never from an
earlier answer of the server. Downloads are checked byte for byte: every
extracted ``.dcm`` is matched to its source file by SOPInstanceUID and their
SHA-256 digests compared. ``curl`` fetches the same queries as CSV, which must
say what the client's JSON says.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import subprocess
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pandas as pd
import pydicom
import pytest
import tcia_utils.nbia as nbia  # type: ignore[import-untyped]

from ria.archive import Archive
from tests.api.conftest import LiveServer
from tests.api.tcia_truth import BRCA, LUAD, Instance, Truth, build_tcia_corpus, read_truth, sha256_of

Row = dict[str, Any]

# Every test runs on SQLite; those whose answers hinge on the database's own work (filters, DISTINCT
# counts, date comparisons, grouping, ordering) also run on PostgreSQL. The rest (rendering, downloads,
# the client's local handling) would only repeat the same SQL at ~2 s of database set-up each.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# The client itself calls DataFrame.rename(inplace=True), which pandas deprecates: its noise, not Ria's.
pytestmark = pytest.mark.filterwarnings(r"ignore:The inplace keyword in DataFrame\.\w+ is deprecated")


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Truth:
    return read_truth(build_tcia_corpus(tmp_path_factory.mktemp("tcia-utils-corpus")))


@dataclass(frozen=True)
class Live:
    """A server holding the corpus, the client pointed at it, and when ingest began."""

    url: str
    truth: Truth
    ingest_began: dt.datetime
    work: Path


@pytest.fixture
def live(
    archive: Archive, server: LiveServer, truth: Truth, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Live:
    def set_api_url(endpoint: str, api_url: str = "") -> str:
        # The real function's choice: getContentsByName stayed on v1, everything else is v4.
        version = "v1" if endpoint == "getContentsByName" else "v4"
        return f"{server.url}/nbia-api/services/{version}/"

    monkeypatch.setattr(nbia, "setApiUrl", set_api_url)
    monkeypatch.chdir(tmp_path)  # the client writes some formats (csv, manifest) into the CWD
    began = dt.datetime.now(dt.UTC)
    for collection in truth.collections():
        expected = len(truth.where(collection=collection))
        report = archive.ingest([truth.folder(collection)], collection)
        assert (report.ingested, report.ok) == (expected, True), report.summary()
    return Live(server.url, truth, began, tmp_path)


# ---------------------------------------------------------------- helpers


def _rows(answer: object) -> list[Row]:
    assert isinstance(answer, list), f"expected a JSON list, got {answer!r}"
    assert all(isinstance(row, dict) for row in answer)
    return answer


def _column(answer: object, key: str) -> list[str]:
    return [str(row[key]) for row in _rows(answer)]


def _v4_date(value: dt.date | None) -> str | None:
    return None if value is None else value.strftime("%m-%d-%Y")


def _client_date(value: dt.date) -> str:
    """tcia_utils takes dates as YYYY/MM/DD and rewrites them for the server itself."""
    return value.strftime("%Y/%m/%d")


def _series_size(instances: list[Instance]) -> int:
    return sum(i.size for i in instances)


def _counts(answer: object, key: str) -> dict[str, int]:
    rows = _rows(answer)
    counted = {str(row[key]): int(row["Count"]) for row in rows}
    assert len(counted) == len(rows), f"a value is listed twice: {rows}"
    return counted


def _curl_csv(live: Live, endpoint: str, params: Mapping[str, str]) -> list[dict[str, str]]:
    url = f"{live.url}/nbia-api/services/v4/{endpoint}?{urlencode({**params, 'format': 'csv'})}"
    done = subprocess.run(
        ["curl", "-sS", "--fail-with-body", "--noproxy", "*", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"curl {url}: {done.stderr}{done.stdout}"
    return list(csv.DictReader(io.StringIO(done.stdout)))


def _csv_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _canonical(rows: list[Mapping[str, object]]) -> list[str]:
    """Rows as sorted JSON lines, values as CSV text, empty fields dropped (JSON omits nulls)."""
    return sorted(
        json.dumps({k: _csv_text(v) for k, v in row.items() if v is not None and v != ""}, sort_keys=True)
        for row in rows
    )


def _dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".dcm")


def _sop_of(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _check_series_folder(folder: Path, live: Live, *, md5: bool, new_names: bool) -> None:
    """One downloaded series: every instance once, bytes identical to the ingested file."""
    series = live.truth.series()[folder.name]
    by_sop = live.truth.by_sop()
    files = _dicom_files(folder)
    got: dict[str, Path] = {}
    for path in files:
        sop = _sop_of(path)
        assert sop not in got, f"{sop} extracted twice in {folder.name}"
        got[sop] = path
        source = by_sop.get(sop)
        assert source is not None, f"{path.name}: SOPInstanceUID {sop} was never ingested"
        assert source.series_uid == folder.name, f"{path.name} belongs to series {source.series_uid}"
        assert sha256_of(path) == source.sha256, f"{path.name} ({sop}) differs from {source.path}"
    assert set(got) == {i.sop_uid for i in series}
    assert (folder / "LICENSE").is_file()
    if new_names:
        # NewFileNames=Yes: <acquisition run>-<instance>.dcm, instances counted in InstanceNumber order.
        width = len(str(len(series)))
        expected = {i.sop_uid: f"1-{rank:0{width}d}.dcm" for rank, i in enumerate(series, start=1)}
        assert {sop: path.name for sop, path in got.items()} == expected
    hashes = folder / "md5hashes.csv"
    if md5:
        with hashes.open(newline="") as handle:
            table = {row["Filename"]: row["MD5Hash"] for row in csv.DictReader(handle)}
        assert table == {path.name: by_sop[sop].md5 for sop, path in got.items()}
    else:
        assert not hashes.exists()


def _check_download(root: Path, live: Live, uids: set[str], *, md5: bool, new_names: bool) -> None:
    assert root.is_dir()
    assert {p.name for p in root.iterdir()} == uids
    for uid in uids:
        _check_series_folder(root / uid, live, md5=md5, new_names=new_names)


# ---------------------------------------------------------------- queries


@SQLITE_ONLY
def test_the_client_talks_only_to_the_live_server(live: Live) -> None:
    assert nbia.setApiUrl("getSeries", "") == f"{live.url}/nbia-api/services/v4/"
    assert nbia.setApiUrl("getContentsByName", "") == f"{live.url}/nbia-api/services/v1/"


@SQLITE_ONLY
def test_get_collections(live: Live) -> None:
    expected = live.truth.collections()
    assert nbia.getCollections() == [{"Collection": name} for name in expected]
    frame = nbia.getCollections(format="df")
    assert isinstance(frame, pd.DataFrame)
    assert frame["Collection"].tolist() == expected


def test_get_patient(live: Live) -> None:
    truth = live.truth
    everyone = _rows(nbia.getPatient())
    assert sorted((row["Collection"], row["PatientId"]) for row in everyone) == sorted(truth.subjects())
    for collection in truth.collections():
        rows = _rows(nbia.getPatient(collection=collection))
        assert sorted(row["PatientId"] for row in rows) == sorted(truth.patient_ids(collection))
        for row in rows:
            first = truth.where(collection=collection, patient_id=row["PatientId"])[0]
            assert row["Collection"] == collection
            assert row.get("PatientName") == first.patient_name
            assert row.get("PatientSex") == first.patient_sex
    assert nbia.getPatient(collection="NO-SUCH-COLLECTION") is None


def test_get_study(live: Live) -> None:
    truth = live.truth
    for collection in truth.collections():
        instances = truth.where(collection=collection)
        studies = truth.studies(instances)
        rows = _rows(nbia.getStudy(collection))
        assert sorted(row["StudyInstanceUID"] for row in rows) == sorted(studies)
        for row in rows:
            members = studies[row["StudyInstanceUID"]]
            assert row["Collection"] == collection
            assert row["PatientID"] == members[0].patient_id
            assert row["SeriesCount"] == len(truth.series(members))
            assert row.get("StudyDate") == _v4_date(members[0].study_date)
            assert row.get("StudyDescription") == members[0].study_description
        patient = sorted(truth.patient_ids(collection))[0]
        mine = _rows(nbia.getStudy(collection, patientId=patient))
        assert sorted(r["StudyInstanceUID"] for r in mine) == sorted(
            truth.studies(truth.where(collection=collection, patient_id=patient))
        )
        study = sorted(studies)[-1]
        one = _rows(nbia.getStudy(collection, studyUid=study))
        assert [r["StudyInstanceUID"] for r in one] == [study]


def _release_days(live: Live) -> set[str | None]:
    """DateReleased is the day of ingest (UTC), written MM-DD-YYYY in v4."""
    return {_v4_date(live.ingest_began.date()), _v4_date(dt.datetime.now(dt.UTC).date())}


def _check_series_rows(rows: list[Row], live: Live, instances: list[Instance]) -> None:
    truth = live.truth
    expected = truth.series(instances)
    assert sorted(row["SeriesInstanceUID"] for row in rows) == sorted(expected)
    for row in rows:
        members = truth.series()[row["SeriesInstanceUID"]]  # the whole series, not just the filtered part
        first = members[0]
        assert row["Collection"] == first.collection
        assert row["PatientID"] == first.patient_id
        assert row.get("PatientSex") == first.patient_sex
        assert row["StudyInstanceUID"] == first.study_uid
        assert row.get("StudyDate") == _v4_date(first.study_date)
        assert row.get("StudyDesc") == first.study_description
        assert row["Modality"] == first.modality
        assert row.get("SeriesDate") == _v4_date(first.series_date)
        assert row.get("BodyPartExamined") == first.body_part
        assert row.get("Manufacturer") == first.manufacturer
        assert row.get("ManufacturerModelName") == first.model
        assert int(row["ImageCount"]) == len(members)
        assert int(row["FileSize"]) == _series_size(members)
        assert row["DateReleased"] in _release_days(live)


def test_get_series_json(live: Live) -> None:
    truth = live.truth
    for collection in truth.collections():
        rows = _rows(nbia.getSeries(collection=collection))
        _check_series_rows(rows, live, truth.where(collection=collection))
    patient = sorted(truth.patient_ids(LUAD) & truth.patient_ids(BRCA))[0]
    # a PatientID filed in two collections: getSeries without a collection finds both
    _check_series_rows(_rows(nbia.getSeries(patientId=patient)), live, truth.where(patient_id=patient))
    study = sorted(truth.studies())[0]
    _check_series_rows(_rows(nbia.getSeries(studyUid=study)), live, truth.where(study_uid=study))
    uid = sorted(truth.series())[0]
    _check_series_rows(_rows(nbia.getSeries(seriesUid=uid)), live, truth.where(series_uid=uid))
    model = truth.values("model", truth.where(manufacturer="SIEMENS"))[0]
    scanned_twice = truth.where(manufacturer="SIEMENS")[0].patient_id
    for filters, answer in (
        ({"modality": "MR"}, nbia.getSeries(modality="MR")),
        ({"body_part": "LUNG"}, nbia.getSeries(bodyPart="LUNG")),
        ({"manufacturer": "SIEMENS"}, nbia.getSeries(manufacturer="SIEMENS")),
        ({"model": model}, nbia.getSeries(manufacturerModel=model)),
        (
            {"collection": LUAD, "modality": "CT", "body_part": "CHEST"},
            nbia.getSeries(collection=LUAD, modality="CT", bodyPart="CHEST"),
        ),
        (
            {"patient_id": scanned_twice, "manufacturer": "SIEMENS"},
            nbia.getSeries(patientId=scanned_twice, manufacturer="SIEMENS"),
        ),
    ):
        _check_series_rows(_rows(answer), live, truth.where(**filters))
    assert nbia.getSeries(collection=LUAD, modality="MR") is None


@SQLITE_ONLY
def test_get_series_as_dataframe_and_csv_file(live: Live) -> None:
    truth = live.truth
    frame = nbia.getSeries(collection=BRCA, format="df")
    assert isinstance(frame, pd.DataFrame)
    expected = truth.series(truth.where(collection=BRCA))
    assert sorted(frame["SeriesInstanceUID"]) == sorted(expected)
    by_uid = frame.set_index("SeriesInstanceUID")
    for uid, members in expected.items():
        assert int(by_uid.loc[uid, "ImageCount"]) == len(members)
        assert int(by_uid.loc[uid, "FileSize"]) == _series_size(members)
        assert by_uid.loc[uid, "PatientID"] == members[0].patient_id
    # format="csv" returns the DataFrame and writes getSeries_<time>.csv into the working directory
    written = nbia.getSeries(collection=LUAD, format="csv")
    assert isinstance(written, pd.DataFrame)
    files = list(live.work.glob("getSeries_*.csv"))
    assert len(files) == 1
    saved = pd.read_csv(files[0], dtype=str)
    assert sorted(saved["SeriesInstanceUID"]) == sorted(truth.series(truth.where(collection=LUAD)))


@SQLITE_ONLY
def test_get_series_list(live: Live) -> None:
    truth = live.truth
    everything = truth.series()
    uids = sorted(everything)
    frame = nbia.getSeriesList(uids)
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame["SeriesInstanceUID"]) == uids
    for row in frame.to_dict("records"):
        members = everything[row["SeriesInstanceUID"]]
        first = members[0]
        assert (row["Collection"], row["PatientID"]) == (first.collection, first.patient_id)
        assert row["StudyInstanceUID"] == first.study_uid
        assert row["Modality"] == first.modality
        assert (None if pd.isna(row["BodyPartExamined"]) else row["BodyPartExamined"]) == first.body_part
        assert int(row["ImageCount"]) == len(members)
        assert int(row["FileSize"]) == _series_size(members)
    # an unknown (well-formed) UID among known ones is left out, not an error
    some = [*uids[:2], "1.2.3.4.5.6.7.8.9"]
    partial = nbia.getSeriesList(some)
    assert isinstance(partial, pd.DataFrame)
    assert sorted(partial["SeriesInstanceUID"]) == uids[:2]


@SQLITE_ONLY
def test_get_series_size_and_sop_instance_uids(live: Live) -> None:
    for uid, members in live.truth.series().items():
        size = nbia.getSeriesSize(uid)
        assert size == [{"TotalSizeInBytes": _series_size(members), "ObjectCount": len(members)}], uid
        sops = _column(nbia.getSopInstanceUids(uid), "SOPInstanceUID")
        assert sorted(sops) == sorted(i.sop_uid for i in members), uid


def test_value_lists(live: Live) -> None:
    truth = live.truth
    assert _column(nbia.getModality(), "Modality") == truth.values("modality")
    assert _column(nbia.getBodyPart(), "BodyPartExamined") == truth.values("body_part")
    assert _column(nbia.getManufacturer(), "Manufacturer") == truth.values("manufacturer")
    for collection in truth.collections():
        mine = truth.where(collection=collection)
        assert _column(nbia.getModality(collection=collection), "Modality") == truth.values("modality", mine)
        parts = nbia.getBodyPart(collection=collection)
        assert _column(parts, "BodyPartExamined") == truth.values("body_part", mine)
        makers = nbia.getManufacturer(collection=collection)
        assert _column(makers, "Manufacturer") == truth.values("manufacturer", mine)
    chest = truth.where(body_part="CHEST")
    assert _column(nbia.getModality(bodyPart="CHEST"), "Modality") == truth.values("modality", chest)
    mr = truth.where(modality="MR")
    assert _column(nbia.getBodyPart(modality="MR"), "BodyPartExamined") == truth.values("body_part", mr)
    narrow = truth.where(collection=LUAD, modality="CT", body_part="CHEST")
    answer = nbia.getManufacturer(collection=LUAD, modality="CT", bodyPart="CHEST")
    assert _column(answer, "Manufacturer") == truth.values("manufacturer", narrow)
    assert nbia.getModality(collection="NO-SUCH-COLLECTION") is None


def test_value_counts_are_distinct_patients(live: Live) -> None:
    truth = live.truth
    assert _counts(nbia.getCollectionPatientCounts(), "Collection") == {
        name: len(truth.subjects(truth.where(collection=name))) for name in truth.collections()
    }
    assert _counts(nbia.getModalityCounts(), "Modality") == truth.patient_counts("modality")
    assert _counts(nbia.getBodyPartCounts(), "BodyPart") == truth.patient_counts("body_part")
    # SIEMENS scanned one PatientID in both collections: two TCIA patients
    assert _counts(nbia.getManufacturerCounts(), "Manufacturer") == truth.patient_counts("manufacturer")
    for collection in truth.collections():
        mine = truth.where(collection=collection)
        answer = nbia.getModalityCounts(collection=collection)
        assert _counts(answer, "Modality") == truth.patient_counts("modality", mine)
        answer = nbia.getBodyPartCounts(collection=collection)
        assert _counts(answer, "BodyPart") == truth.patient_counts("body_part", mine)
        answer = nbia.getManufacturerCounts(collection=collection)
        assert _counts(answer, "Manufacturer") == truth.patient_counts("manufacturer", mine)
    lung = truth.where(body_part="LUNG")
    assert _counts(nbia.getModalityCounts(bodyPart="LUNG"), "Modality") == truth.patient_counts(
        "modality", lung
    )
    ct = truth.where(collection=LUAD, modality="CT")
    answer = nbia.getBodyPartCounts(collection=LUAD, modality="CT")
    assert _counts(answer, "BodyPart") == truth.patient_counts("body_part", ct)
    chest = truth.where(modality="CT", body_part="CHEST")
    answer = nbia.getManufacturerCounts(modality="CT", bodyPart="CHEST")
    assert _counts(answer, "Manufacturer") == truth.patient_counts("manufacturer", chest)
    assert nbia.getModalityCounts(collection="NO-SUCH-COLLECTION") is None


def test_new_patients_in_collection_follow_the_release_date(live: Live) -> None:
    truth = live.truth
    day_of_ingest = live.ingest_began.date()
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    for collection in truth.collections():
        expected = sorted(truth.patient_ids(collection))
        for since in (day_of_ingest - dt.timedelta(days=1), day_of_ingest):
            rows = _rows(nbia.getNewPatientsInCollection(collection, _client_date(since)))
            assert sorted(row["PatientId"] for row in rows) == expected, since
            assert {row["Collection"] for row in rows} == {collection}
        assert nbia.getNewPatientsInCollection(collection, _client_date(tomorrow)) is None


def test_other_release_date_queries(live: Live) -> None:
    truth = live.truth
    yesterday = _client_date(live.ingest_began.date() - dt.timedelta(days=1))
    tomorrow = _client_date(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1))
    updated = _rows(nbia.getUpdatedSeries(yesterday))
    assert sorted(row["SeriesInstanceUID"] for row in updated) == sorted(truth.series())
    assert nbia.getUpdatedSeries(tomorrow) is None
    patient = sorted(truth.patient_ids(BRCA))[0]
    studies = _rows(nbia.getNewStudiesInPatient(BRCA, patient, yesterday))
    assert sorted(r["StudyInstanceUID"] for r in studies) == sorted(
        truth.studies(truth.where(collection=BRCA, patient_id=patient))
    )
    assert nbia.getNewStudiesInPatient(BRCA, patient, tomorrow) is None
    ids = _column(nbia.getPatientByCollectionAndModality(LUAD, "CT"), "PatientId")
    assert sorted(ids) == sorted(truth.patient_ids(LUAD))
    assert nbia.getPatientByCollectionAndModality(LUAD, "MR") is None


def _subjects(answer: object) -> list[Row]:
    assert isinstance(answer, dict), f"expected a JSON object, got {answer!r}"
    result: list[Row] = answer["resultSet"]
    return result


def test_simple_search(live: Live) -> None:
    truth = live.truth
    everything = nbia.getSimpleSearch()
    subjects = _subjects(everything)
    assert everything["totalPatients"] == len(truth.subjects())
    assert sorted((s["project"], s["subjectId"]) for s in subjects) == sorted(truth.subjects())
    for subject in subjects:
        mine = truth.where(collection=subject["project"], patient_id=subject["subjectId"])
        assert subject["totalNumberOfStudies"] == len(truth.studies(mine))
        assert subject["totalNumberOfSeries"] == len(truth.series(mine))
    # the facets count subjects, like the …ValuesAndCounts endpoints
    facets = {key: {f["value"]: f["count"] for f in everything[key]} for key in ("modalities", "bodyParts")}
    assert facets["modalities"] == truth.patient_counts("modality")
    # a series without BodyPartExamined counts as "NOT SPECIFIED", as TCIA's portal shows it
    unspecified = len(truth.subjects(i for i in truth.instances if i.body_part is None))
    assert unspecified > 0
    assert facets["bodyParts"] == {**truth.patient_counts("body_part"), "NOT SPECIFIED": unspecified}
    assert {c["value"]: c["count"] for c in everything["collections"]} == {
        name: len(truth.subjects(truth.where(collection=name))) for name in truth.collections()
    }

    both = sorted(truth.patient_ids(LUAD) & truth.patient_ids(BRCA))[0]  # one PatientID, two subjects
    for kwargs, instances in (
        ({"collections": [BRCA]}, truth.where(collection=BRCA)),
        ({"modalities": ["CT"]}, truth.where(modality="CT")),
        ({"bodyParts": ["LUNG"]}, truth.where(body_part="LUNG")),
        ({"manufacturers": ["SIEMENS"]}, truth.where(manufacturer="SIEMENS")),
        ({"patients": [both]}, truth.where(patient_id=both)),
        ({"collections": [LUAD], "bodyParts": ["CHEST"]}, truth.where(collection=LUAD, body_part="CHEST")),
    ):
        found = nbia.getSimpleSearch(**kwargs)
        expected = sorted(truth.subjects(instances))
        assert found["totalPatients"] == len(expected), kwargs
        assert sorted((s["project"], s["subjectId"]) for s in _subjects(found)) == expected, kwargs

    # paging by subject: pages of 3 cover every subject exactly once
    paged: list[tuple[str, str]] = []
    for start in range(0, len(truth.subjects()), 3):
        page = _subjects(nbia.getSimpleSearch(start=start, size=3, sortField="subject"))
        assert len(page) <= 3
        paged.extend((s["project"], s["subjectId"]) for s in page)
    assert sorted(paged) == sorted(truth.subjects())

    nobody = nbia.getSimpleSearch(species=["mouse"])
    assert nobody["totalPatients"] == 0 and _subjects(nobody) == []


def test_simple_search_by_study_count_and_all_modalities(live: Live) -> None:
    truth = live.truth
    studies = {s: len(truth.studies(truth.where(collection=s[0], patient_id=s[1]))) for s in truth.subjects()}
    modalities = {
        s: set(truth.values("modality", truth.where(collection=s[0], patient_id=s[1])))
        for s in truth.subjects()
    }
    for minimum in (1, 2):
        found = nbia.getSimpleSearch(minStudies=minimum)
        expected = sorted(s for s, n in studies.items() if n >= minimum)
        assert found["totalPatients"] == len(expected), minimum
        assert sorted((s["project"], s["subjectId"]) for s in _subjects(found)) == expected
    for wanted in (["CT"], ["CT", "MR"]):
        found = nbia.getSimpleSearch(modalities=wanted, modalityAnded=True)
        expected = sorted(s for s, have in modalities.items() if set(wanted) <= have)
        assert found["totalPatients"] == len(expected), wanted
        assert sorted((s["project"], s["subjectId"]) for s in _subjects(found)) == expected
    either = nbia.getSimpleSearch(modalities=["CT", "MR"])
    assert either["totalPatients"] == len(truth.subjects())


def test_simple_search_by_study_date_range(live: Live) -> None:
    truth = live.truth
    dates = sorted({i.study_date for i in truth.instances if i.study_date is not None})
    assert len(dates) >= 2, "the corpus needs studies on different dates"
    for low, high in ((dates[0], dates[0]), (dates[0], dates[-1]), (dates[-1], dates[-1])):
        found = nbia.getSimpleSearch(fromDate=f"{low:%Y/%m/%d}", toDate=f"{high:%Y/%m/%d}")
        inside = [i for i in truth.instances if i.study_date is not None and low <= i.study_date <= high]
        expected = sorted(truth.subjects(inside))
        assert found is not None, (low, high)
        assert sorted((s["project"], s["subjectId"]) for s in _subjects(found)) == expected


@SQLITE_ONLY
def test_simple_search_as_uids_and_manifest(live: Live) -> None:
    truth = live.truth
    uids = nbia.getSimpleSearch(collections=[LUAD], format="uids")
    assert sorted(uids) == sorted(truth.series(truth.where(collection=LUAD)))
    text = nbia.getSimpleSearch(format="manifest_text")
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0].startswith("downloadServerUrl=")
    assert all("=" in line for line in lines[:6])
    assert sorted(lines[6:]) == sorted(truth.series())
    assert nbia.getSimpleSearch(modalities=["MR"], format="manifest") is None  # saved, not returned
    saved = list(live.work.glob("manifest-*.tcia"))
    assert len(saved) == 1
    assert sorted(nbia.manifestToList(str(saved[0]))) == sorted(truth.series(truth.where(modality="MR")))


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "IS", "LO", "PN", "SH", "TM", "UI"})


@SQLITE_ONLY
def test_get_dicom_tags(live: Live) -> None:
    truth = live.truth
    by_sop = truth.by_sop()
    for uid, members in truth.series().items():
        frame = nbia.getDicomTags(uid)
        assert isinstance(frame, pd.DataFrame), uid
        assert list(frame.columns[:3]) == ["element", "name", "data"]
        rows = {str(r["element"]): r for r in frame.to_dict("records")}
        source = by_sop[str(rows["(0008,0018)"]["data"])]  # the instance whose header this is
        assert source.series_uid == uid
        assert (rows["(0008,0060)"]["name"], rows["(0008,0060)"]["data"]) == ("Modality", members[0].modality)
        assert rows["(0020,000E)"]["data"] == uid
        assert rows["(0020,000D)"]["data"] == source.study_uid
        assert rows["(0010,0020)"]["data"] == source.patient_id
        assert rows["(0008,0070)"]["data"] == source.manufacturer
        if source.body_part is None:
            assert "(0018,0015)" not in rows
        else:
            assert rows["(0018,0015)"]["data"] == source.body_part
        # every single-valued text element of that file, as pydicom reads it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(source.path, stop_before_pixels=True)
        for element in ds:
            if element.VR in _TEXT_VRS and element.VM == 1 and not element.tag.is_private:
                key = f"({element.tag.group:04X},{element.tag.element:04X})"
                assert str(rows[key]["data"]) == str(element.value).strip(), (uid, key)
    assert nbia.getDicomTags("1.2.3.4.5.6.7.8.9") is None


@SQLITE_ONLY
def test_get_seg_ref_series_reads_the_dicom_tags(live: Live) -> None:
    # not a segmentation: the client finds Modality (0008,0060) in getDicomTags and says so
    for uid in sorted(live.truth.series())[:2]:
        assert nbia.getSegRefSeries(uid) == "N/A"


@SQLITE_ONLY
def test_get_collection_descriptions(live: Live) -> None:
    rows = _rows(nbia.getCollectionDescriptions())
    assert sorted(row["collectionName"] for row in rows) == live.truth.collections()


@SQLITE_ONLY
def test_get_collection_descriptions_as_dataframe_without_html(live: Live) -> None:
    frame = nbia.getCollectionDescriptions(format="df", removeHtml="yes")
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame["collectionName"]) == live.truth.collections()


@SQLITE_ONLY
def test_shared_cart_through_v1(live: Live, client: httpx.Client) -> None:
    truth = live.truth
    uids = sorted(truth.series(truth.where(collection=BRCA)))
    made = client.post(
        "/nbia-api/services/createSharedList", data={"list": ",".join(uids), "name": "brca-all"}
    )
    assert made.status_code == 200, made.text
    rows = _rows(nbia.getSharedCart("brca-all"))
    assert sorted(r["SeriesInstanceUID"] for r in rows) == uids
    assert {r["Collection"] for r in rows} == {BRCA}


# ---------------------------------------------------------------- downloads


@pytest.mark.parametrize(
    ("database_url", "md5"),
    [("sqlite", False), ("sqlite", True), pytest.param("postgresql", False, marks=pytest.mark.postgres)],
    indirect=["database_url"],
    ids=["sqlite-plain", "sqlite-md5", "postgresql-plain"],
)
def test_download_series_from_list_dataframe_and_manifest(live: Live, md5: bool) -> None:
    truth = live.truth
    hash_flag = "y" if md5 else ""
    dl = live.work / "dl"

    luad = sorted(truth.series(truth.where(collection=LUAD)))
    assert nbia.downloadSeries(luad, input_type="list", path=str(dl / "list"), hash=hash_flag) is None
    _check_download(dl / "list", live, set(luad), md5=md5, new_names=not md5)

    frame = nbia.getSeries(collection=BRCA, format="df")
    meta = nbia.downloadSeries(frame, input_type="df", path=str(dl / "df"), hash=hash_flag, format="df")
    brca = truth.series(truth.where(collection=BRCA))
    _check_download(dl / "df", live, set(brca), md5=md5, new_names=not md5)
    assert isinstance(meta, pd.DataFrame)  # the downloaded series' metadata, via getSeriesMetadata
    assert sorted(meta["SeriesInstanceUID"]) == sorted(brca)
    assert {r["SeriesInstanceUID"]: int(r["ImageCount"]) for r in meta.to_dict("records")} == {
        uid: len(members) for uid, members in brca.items()
    }

    manifest = live.work / "everything.tcia"
    text = nbia.getSimpleSearch(format="manifest_text")
    assert isinstance(text, str)
    manifest.write_text(text)
    nbia.downloadSeries(str(manifest), input_type="manifest", path=str(dl / "manifest"), hash=hash_flag)
    _check_download(dl / "manifest", live, set(truth.series()), md5=md5, new_names=not md5)


@SQLITE_ONLY
def test_download_series_from_json_with_number_resume_and_zip(live: Live) -> None:
    truth = live.truth
    patient = sorted(truth.patient_ids(LUAD) & truth.patient_ids(BRCA))[-1]
    rows = _rows(nbia.getSeries(patientId=patient))
    mine = truth.series(truth.where(patient_id=patient))
    assert len(rows) == len(mine) >= 3
    target = live.work / "json"
    nbia.downloadSeries(rows, number=2, path=str(target))  # the default input: getSeries' JSON
    first = {p.name for p in target.iterdir()}
    assert len(first) == 2 and first <= set(mine)
    _check_download(target, live, first, md5=False, new_names=True)
    # again: the two already there are skipped, the rest fetched; format="df" describes them all
    meta = nbia.downloadSeries(rows, path=str(target), format="df")
    assert isinstance(meta, pd.DataFrame)
    assert sorted(meta["SeriesInstanceUID"]) == sorted(mine)
    _check_download(target, live, set(mine), md5=False, new_names=True)

    # a series the archive does not hold: reported by the client, nothing written
    missing = live.work / "missing"
    nbia.downloadSeries(["1.2.3.4.5.6.7.8.9"], input_type="list", path=str(missing))
    assert list(missing.iterdir()) == []

    zipped = live.work / "zipped"
    uid = sorted(mine)[0]
    nbia.downloadSeries([uid], input_type="list", path=str(zipped), as_zip=True)
    with zipfile.ZipFile(zipped / f"{uid}.zip") as archive:
        names = archive.namelist()
        assert names[0] == "LICENSE"
        digests = {
            name: hashlib.sha256(archive.read(name)).hexdigest() for name in names if name.endswith(".dcm")
        }
    assert sorted(digests.values()) == sorted(i.sha256 for i in mine[uid])


@SQLITE_ONLY
def test_download_image(live: Live) -> None:
    truth = live.truth
    target = live.work / "images"
    chosen = [members[-1] for members in truth.series().values()][:4]
    for instance in chosen:
        assert nbia.downloadImage(instance.series_uid, instance.sop_uid, path=str(target)) is None
        saved = target / instance.series_uid / f"{instance.sop_uid}.dcm"
        assert saved.is_file()
        assert sha256_of(saved) == instance.sha256
        assert _sop_of(saved) == instance.sop_uid
    # an instance that is not in that series: nothing is written
    other = chosen[1]
    nbia.downloadImage(chosen[0].series_uid, other.sop_uid, path=str(target))
    assert not (target / chosen[0].series_uid / f"{other.sop_uid}.dcm").exists()


# ---------------------------------------------------------------- the same, as CSV, with curl


def _csv_cases(truth: Truth, ingest_began: dt.date) -> Iterator[tuple[str, dict[str, str], object]]:
    """(endpoint, parameters, what tcia_utils answers for the same query as JSON)."""
    series_uid = sorted(truth.series())[0]
    patient = sorted(truth.patient_ids(LUAD))[0]
    since = ingest_began - dt.timedelta(days=1)
    yield "getCollectionValues", {}, nbia.getCollections()
    yield "getModalityValues", {"Collection": LUAD}, nbia.getModality(collection=LUAD)
    yield "getBodyPartValues", {}, nbia.getBodyPart()
    yield "getManufacturerValues", {"Modality": "CT"}, nbia.getManufacturer(modality="CT")
    yield "getPatient", {"Collection": BRCA}, nbia.getPatient(collection=BRCA)
    yield "getPatientStudy", {"Collection": LUAD}, nbia.getStudy(LUAD)
    yield "getSeries", {"Collection": LUAD}, nbia.getSeries(collection=LUAD)
    yield "getSeries", {"PatientID": patient}, nbia.getSeries(patientId=patient)
    yield "getSeriesSize", {"SeriesInstanceUID": series_uid}, nbia.getSeriesSize(series_uid)
    yield "getSOPInstanceUIDs", {"SeriesInstanceUID": series_uid}, nbia.getSopInstanceUids(series_uid)
    yield (
        "NewPatientsInCollection",
        {"Collection": BRCA, "fromDate": since.strftime("%m-%d-%Y")},
        nbia.getNewPatientsInCollection(BRCA, _client_date(since)),
    )
    frame = nbia.getDicomTags(series_uid)
    assert isinstance(frame, pd.DataFrame)
    tags = [{k: v for k, v in row.items() if not pd.isna(v)} for row in frame.to_dict("records")]
    yield "getDicomTags", {"SeriesUID": series_uid}, tags


@SQLITE_ONLY
def test_curl_csv_says_what_the_client_json_says(live: Live) -> None:
    truth = live.truth
    for endpoint, params, answer in _csv_cases(truth, live.ingest_began.date()):
        rows = _rows(answer)
        assert rows, (endpoint, params)
        as_csv = _curl_csv(live, endpoint, params)
        assert _canonical(list(as_csv)) == _canonical(list(rows)), (endpoint, params)
    # and against the files themselves, for the widest table
    table = _curl_csv(live, "getSeries", {"Collection": BRCA})
    expected = truth.series(truth.where(collection=BRCA))
    assert {row["SeriesInstanceUID"]: int(row["ImageCount"]) for row in table} == {
        uid: len(members) for uid, members in expected.items()
    }
    assert {row["SeriesInstanceUID"]: int(row["FileSize"]) for row in table} == {
        uid: _series_size(members) for uid, members in expected.items()
    }
    assert re.fullmatch(r"\d\d-\d\d-\d{4}", table[0]["StudyDate"])
