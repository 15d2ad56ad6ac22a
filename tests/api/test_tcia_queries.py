"""TCIA v1 and v4 query endpoints over a live server, checked against an independent pydicom read."""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET

import httpx
import pytest

from ria.archive import Archive
from tests.api.truth import SeriesTruth, corpus_by_collection, read_series
from tests.conftest import Corpus

V1 = "/nbia-api/services/v1"
V4 = "/nbia-api/services/v4"
DOI = "10.7937/K9/TCIA.2016.JGNIHEP5"
LICENSE = ("Creative Commons Attribution 3.0 Unported License", "http://creativecommons.org/licenses/by/3.0/")


@pytest.fixture
def truth(archive: Archive, corpus: Corpus) -> dict[str, SeriesTruth]:
    files = corpus_by_collection(corpus.root)
    for collection, paths in files.items():
        archive.ingest(paths, collection)
    archive.writer().describe_collection(
        "TCGA-LUAD",
        doi=DOI,
        license_name=LICENSE[0],
        license_uri=LICENSE[1],
        description="Lung adenocarcinoma",
    )
    return read_series(files)


def _v1_date(value: dt.date | None) -> str | None:
    return None if value is None else f"{value.isoformat()} 00:00:00.0"


def _v4_date(value: dt.date | None) -> str | None:
    return None if value is None else value.strftime("%m-%d-%Y")


def test_get_series_v1_rows_match_the_files(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    answer = client.get(f"{V1}/getSeries").json()
    assert {row["SeriesInstanceUID"] for row in answer} == set(truth)
    for row in answer:
        expected = truth[row["SeriesInstanceUID"]]
        assert row["StudyInstanceUID"] == expected.study_uid
        assert row["Collection"] == expected.collection
        assert row["PatientID"] == expected.patient_id
        assert row.get("Modality") == expected.modality
        assert row.get("BodyPartExamined") == expected.body_part
        assert row.get("Manufacturer") == expected.manufacturer
        assert row.get("SeriesNumber") == expected.series_number
        assert row.get("SeriesDate") == _v1_date(expected.series_date)
        assert row.get("StudyDate") == _v1_date(expected.study_date)
        assert row["ImageCount"] == len(expected.files)
        assert row["FileSize"] == expected.size
        assert None not in row.values()  # nulls are omitted, never sent as null
        assert "DataDescriptionURI" not in row  # v1 names it CollectionURI
        if expected.collection == "TCGA-LUAD":
            assert (row["LicenseName"], row["LicenseURI"]) == LICENSE
            assert row["CollectionURI"] == f"https://doi.org/{DOI}"
        else:
            assert "LicenseName" not in row


def test_get_series_v4_uses_v4_names_and_dates(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    answer = client.get(f"{V4}/getSeries", params={"Collection": "TCGA-LUAD"}).json()
    luad = {uid for uid, s in truth.items() if s.collection == "TCGA-LUAD"}
    assert {row["SeriesInstanceUID"] for row in answer} == luad
    today = dt.datetime.now(dt.UTC).date()
    for row in answer:
        expected = truth[row["SeriesInstanceUID"]]
        assert row.get("SeriesDate") == _v4_date(expected.series_date)
        assert row["DataDescriptionURI"] == f"https://doi.org/{DOI}"
        assert row["Authorized"] == 1
        assert row["ReleasedStatus"] == "Yes"
        released = dt.datetime.strptime(row["DateReleased"], "%m-%d-%Y").date()
        assert abs((released - today).days) <= 1
        assert "CollectionURI" not in row and "TimeStamp" not in row


@pytest.mark.parametrize(
    "params",
    [
        {"PatientID": "pick"},
        {"Modality": "MR"},
        {"Collection": "TCGA-BRCA", "Modality": "MR"},
        {"StudyInstanceUID": "pick"},
        {"Manufacturer": "pick"},
    ],
)
def test_get_series_filters_select_exactly_the_matching_series(
    client: httpx.Client, truth: dict[str, SeriesTruth], params: dict[str, str]
) -> None:
    sample = sorted(truth.values(), key=lambda s: s.uid)[0]
    picks = {
        "PatientID": sample.patient_id,
        "StudyInstanceUID": sample.study_uid,
        "Manufacturer": sample.manufacturer,
    }
    query = {key: picks[key] if value == "pick" else value for key, value in params.items()}
    attribute = {
        "PatientID": "patient_id",
        "Modality": "modality",
        "Collection": "collection",
        "StudyInstanceUID": "study_uid",
        "Manufacturer": "manufacturer",
    }
    expected = {s.uid for s in truth.values() if all(getattr(s, attribute[k]) == v for k, v in query.items())}
    assert expected, "the corpus should have series for every filter tried"
    for base in (V1, V4):
        response = client.get(f"{base}/getSeries", params=query)
        assert response.status_code == 200
        assert {row["SeriesInstanceUID"] for row in response.json()} == expected


def test_nothing_matching_is_an_empty_200_in_every_format(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    for fmt in ("json", "csv", "xml", "html"):
        response = client.get(f"{V4}/getSeries", params={"Collection": "TCGA-NONE", "format": fmt})
        assert (response.status_code, response.content) == (200, b"")


def test_formats_carry_the_same_rows(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    as_json = client.get(f"{V1}/getSeries").json()
    as_csv = list(csv.DictReader(io.StringIO(client.get(f"{V1}/getSeries", params={"format": "CSV"}).text)))
    assert [row["SeriesInstanceUID"] for row in as_csv] == [row["SeriesInstanceUID"] for row in as_json]
    assert [int(row["ImageCount"]) for row in as_csv] == [row["ImageCount"] for row in as_json]
    xml = client.get(f"{V1}/getSeries", params={"format": "xml"})
    assert xml.headers["content-type"].startswith("application/xml")
    rows = ET.fromstring(xml.content).findall("Row")
    assert [r.findtext("SeriesInstanceUID") for r in rows] == [row["SeriesInstanceUID"] for row in as_json]
    html = client.get(f"{V1}/getSeries", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.count("<TR>") == len(as_json) + 1
    bad = client.get(f"{V1}/getSeries", params={"format": "yaml"})
    assert bad.status_code == 400 and bad.json()["details"]["parameter"] == "format"


def test_value_list_csv_is_unquoted_and_tables_are_quoted(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    values = client.get(f"{V1}/getCollectionValues", params={"format": "csv"}).text
    assert values == "Collection\nTCGA-BRCA\nTCGA-LUAD\n"
    table = client.get(f"{V1}/getPatient", params={"Collection": "TCGA-LUAD", "format": "csv"}).text
    header = table.splitlines()[0]
    assert header.startswith('"PatientId","PatientName","PatientBirthDate","PatientSex"')


def test_patients_and_studies_match_the_files(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    for collection in ("TCGA-LUAD", "TCGA-BRCA"):
        patients = {s.patient_id for s in truth.values() if s.collection == collection}
        v1 = client.get(f"{V1}/getPatient", params={"Collection": collection}).json()
        v4 = client.get(f"{V4}/getPatient", params={"Collection": collection}).json()
        assert {row["PatientId"] for row in v1} == patients == {row["PatientId"] for row in v4}
        assert all(row["Collection"] == collection for row in v1 + v4)
        assert all(row["Authorized"] == 1 for row in v4) and all("Authorized" not in row for row in v1)
        studies: dict[str, int] = {}
        for s in truth.values():
            if s.collection == collection:
                studies[s.study_uid] = studies.get(s.study_uid, 0) + 1
        answer = client.get(f"{V4}/getPatientStudy", params={"Collection": collection}).json()
        assert {row["StudyInstanceUID"]: row["SeriesCount"] for row in answer} == studies
    one = sorted(truth.values(), key=lambda s: s.uid)[0]
    single = client.get(
        f"{V4}/getPatient", params={"Collection": one.collection, "PatientId": one.patient_id}
    )
    assert [row["PatientId"] for row in single.json()] == [one.patient_id]
    assert client.get(f"{V4}/getPatientStudy").status_code == 400  # v4 requires Collection


def test_patients_by_collection_and_modality(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    for collection in ("TCGA-LUAD", "TCGA-BRCA"):
        for modality in ("CT", "MR"):
            expected = {
                s.patient_id for s in truth.values() if (s.collection, s.modality) == (collection, modality)
            }
            params = {"Collection": collection, "Modality": modality}
            answer = client.get(f"{V1}/getPatientByCollectionAndModality", params=params)
            got = {row["PatientId"] for row in answer.json()} if answer.content else set()
            assert got == expected
    missing = client.get(f"{V1}/getPatientByCollectionAndModality", params={"Collection": "TCGA-LUAD"})
    assert missing.status_code == 400 and missing.json()["details"]["parameter"] == "Modality"


def test_new_patients_and_studies_since_a_date_in_each_versions_format(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    before, after = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    patients = {s.patient_id for s in truth.values() if s.collection == "TCGA-BRCA"}
    v1 = client.get(
        f"{V1}/NewPatientsInCollection", params={"Collection": "TCGA-BRCA", "Date": f"{before:%Y/%m/%d}"}
    )
    assert {row["PatientId"] for row in v1.json()} == patients
    v4 = client.get(
        f"{V4}/NewPatientsInCollection", params={"Collection": "TCGA-BRCA", "fromDate": f"{before:%m-%d-%Y}"}
    )
    assert {row["PatientId"] for row in v4.json()} == patients
    later = client.get(
        f"{V4}/NewPatientsInCollection", params={"Collection": "TCGA-BRCA", "fromDate": f"{after:%m-%d-%Y}"}
    )
    assert (later.status_code, later.content) == (200, b"")
    one = sorted(patients)[0]
    studies = {s.study_uid for s in truth.values() if s.patient_id == one and s.collection == "TCGA-BRCA"}
    answer = client.get(
        f"{V4}/NewStudiesInPatientCollection",
        params={"Collection": "TCGA-BRCA", "PatientID": one, "fromDate": f"{before:%m-%d-%Y}"},
    )
    assert {row["StudyInstanceUID"] for row in answer.json()} == studies
    wrong = client.get(
        f"{V4}/NewPatientsInCollection", params={"Collection": "TCGA-BRCA", "fromDate": f"{before:%Y/%m/%d}"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["details"]["parameter"] == "fromDate"
    assert "MM-DD-YYYY" in wrong.json()["message"]


def test_updated_series_v1_day_first_v4_month_first(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    before = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    v1 = client.get(f"{V1}/getUpdatedSeries", params={"fromDate": f"{before:%d/%m/%Y}"}).json()
    v4 = client.get(f"{V4}/getUpdatedSeries", params={"fromDate": f"{before:%m-%d-%Y}"}).json()
    assert {row["SeriesInstanceUID"] for row in v1} == set(truth) == {row["SeriesInstanceUID"] for row in v4}


def test_series_size_and_metadata(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    series = sorted(truth.values(), key=lambda s: s.uid)
    one = series[0]
    for base in (V1, V4):
        size = client.get(f"{base}/getSeriesSize", params={"SeriesInstanceUID": one.uid}).json()
        assert size == [{"TotalSizeInBytes": one.size, "ObjectCount": len(one.files)}]
    unknown = client.get(f"{V4}/getSeriesSize", params={"SeriesInstanceUID": "1.2.3.4"})
    assert unknown.status_code == 404 and unknown.json()["details"]["parameter"] == "SeriesInstanceUID"
    labels = client.get(f"{V1}/getSeriesMetaData", params={"SeriesInstanceUID": one.uid}).json()[0]
    assert labels["Series UID"] == one.uid
    assert labels["Subject ID"] == one.patient_id
    assert labels["Number of Images"] == str(len(one.files))
    assert labels["File Size"] == str(one.size)
    two = [series[0].uid, series[-1].uid]
    response = client.post(f"{V4}/getSeriesMetadata", data={"list": ",".join(two)})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["SeriesInstanceUID"] for row in rows} == set(two)
    assert len(next(csv.reader(io.StringIO(response.text)))) == 40  # TCIA's column list, all of it
    for row in rows:
        assert int(row["ImageCount"]) == len(truth[row["SeriesInstanceUID"]].files)


def test_v4_rejects_unknown_parameters_and_v1_ignores_them(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    strict = client.get(f"{V4}/getSeries", params={"Collection": "TCGA-LUAD", "colection": "x"})
    assert strict.status_code == 400
    assert strict.json()["details"]["parameter"] == "colection"
    assert "Allowed parameters are" in strict.json()["message"]
    lenient = client.get(f"{V1}/getSeries", params={"Collection": "TCGA-LUAD", "colection": "x"})
    assert lenient.status_code == 200 and lenient.json()


def test_malformed_uids_are_400_naming_the_parameter(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    for path, name in (
        ("getSeries", "SeriesInstanceUID"),
        ("getSeries", "StudyInstanceUID"),
        ("getSeriesSize", "SeriesInstanceUID"),
    ):
        response = client.get(f"{V1}/{path}", params={name: "1.2.abc"})
        assert response.status_code == 400
        assert response.json()["details"]["parameter"] == name
