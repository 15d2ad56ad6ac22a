"""Simple search, the manifest family, shared carts, facets, DICOM tags and MD5 digests over a live server."""

from __future__ import annotations

import hashlib
import warnings
from collections import defaultdict

import httpx
import pydicom
import pytest

from ria.archive import Archive
from ria.manifest import ManifestFormat, parse_manifest
from tests.api.truth import SeriesTruth, corpus_by_collection, read_series
from tests.conftest import Corpus

V1 = "/nbia-api/services/v1"
V4 = "/nbia-api/services/v4"


@pytest.fixture
def truth(archive: Archive, corpus: Corpus) -> dict[str, SeriesTruth]:
    files = corpus_by_collection(corpus.root)
    for collection, paths in files.items():
        archive.ingest(paths, collection)
    archive.writer().describe_collection("TCGA-BRCA", doi="10.7937/K9/TCIA.2016.AB2NAZRP")
    return read_series(files)


def _search(client: httpx.Client, criteria: list[tuple[str, str]], **extra: str) -> httpx.Response:
    form: dict[str, str] = {"sortField": "subject", "sortDirection": "ascending", "start": "0", "size": "100"}
    for index, (kind, value) in enumerate(criteria):
        form[f"criteriaType{index}"] = kind
        form[f"value{index}"] = value
    form.update(extra)
    return client.post(f"{V4}/getSimpleSearch", data=form)


def test_simple_search_groups_matching_series_by_subject(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    answer = _search(client, [("CollectionCriteria", "TCGA-LUAD"), ("ImageModalityCriteria", "CT")]).json()
    expected: dict[str, set[str]] = defaultdict(set)
    for s in truth.values():
        if s.collection == "TCGA-LUAD" and s.modality == "CT":
            expected[s.patient_id].add(s.uid)
    assert answer["totalPatients"] == len(expected)
    subjects = {row["subjectId"]: row for row in answer["resultSet"]}
    assert set(subjects) == set(expected)
    for patient, row in subjects.items():
        assert row["project"] == "TCGA-LUAD"
        assert row["totalNumberOfSeries"] == len(expected[patient])
        studies = {s.study_uid for s in truth.values() if s.uid in expected[patient]}
        assert row["totalNumberOfStudies"] == len(studies)
        assert row["modalities"] == ["CT"]
    assert [row["subjectId"] for row in answer["resultSet"]] == sorted(expected)
    assert {c["value"]: c["count"] for c in answer["collections"]} == {"TCGA-LUAD": len(expected)}


def test_simple_search_pages_sorts_and_ors_repeated_criteria(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    # A subject is a patient within a collection: the same PatientID in two collections is two subjects.
    subjects = sorted({(s.patient_id, s.collection) for s in truth.values()})
    both = [("CollectionCriteria", "TCGA-LUAD"), ("CollectionCriteria", "TCGA-BRCA")]
    everything = _search(client, both, sortDirection="descending").json()
    assert everything["totalPatients"] == len(subjects)
    got = [(r["subjectId"], r["project"]) for r in everything["resultSet"]]
    assert got == sorted(subjects, reverse=True)
    page = _search(client, both, start="1", size="2").json()
    assert page["totalPatients"] == len(subjects)
    assert [(r["subjectId"], r["project"]) for r in page["resultSet"]] == subjects[1:3]


def test_simple_search_modality_anded_and_species(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    by_patient: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for s in truth.values():
        by_patient[(s.patient_id, s.collection)].add(s.modality)
    criteria = [
        ("ImageModalityCriteria", "CT"),
        ("ImageModalityCriteria", "MR"),
        ("ModalityAndedSearchCriteria", "all"),
    ]
    anded = _search(client, criteria).json()
    assert {r["subjectId"] for r in anded["resultSet"]} == {
        p for p, m in by_patient.items() if {"CT", "MR"} <= m
    }
    mice = _search(client, [("SpeciesCriteria", "447612001")]).json()
    assert mice["totalPatients"] == 0 and mice["resultSet"] == []
    people = _search(client, [("SpeciesCriteria", "337915000")]).json()
    assert people["totalPatients"] == len(by_patient)


def test_simple_search_refuses_what_it_cannot_evaluate(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    response = _search(client, [("PixelSpacingRangeCriteria", "1")])
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "criteriaType0"
    gap = client.post(
        f"{V4}/getSimpleSearch", data={"criteriaType1": "CollectionCriteria", "value1": "TCGA-LUAD"}
    )
    assert gap.status_code == 400


def test_manifest_endpoints_list_the_right_series(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    mr = {s.uid for s in truth.values() if s.modality == "MR"}
    form = {
        "criteriaType0": "ImageModalityCriteria",
        "value0": "MR",
        "sortField": "subject",
        "size": "1000000",
    }
    response = client.post(f"{V4}/getManifestForSimpleSearch", data=form)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-nbia-manifest-file")
    lines = response.text.splitlines()
    assert lines[0].startswith("downloadServerUrl=") and lines[5] == "ListOfSeriesToDownload="
    assert set(lines[6:]) == mr
    manifest = parse_manifest(response.text)
    assert manifest.format is ManifestFormat.TCIA and set(manifest.series_uids) == mr
    assert manifest.include_annotation is False

    chosen = sorted(truth)[:3]
    text = client.post(f"{V4}/getManifestText", data={"list": ",".join([*chosen, "1.2.3.4"])}).text
    assert parse_manifest(text).series_uids == tuple(chosen)  # unknown series are left out

    luad = {s.uid for s in truth.values() if s.collection == "TCGA-LUAD"}
    whole = client.post(f"{V4}/getManifestForCollection", data={"collection": "TCGA-LUAD"}).text
    assert set(parse_manifest(whole).series_uids) == luad

    one = sorted(truth.values(), key=lambda s: s.uid)[0]
    other = sorted(truth.values(), key=lambda s: s.uid)[-1]
    form = {"patientIDs": one.patient_id, "seriesUIDs": other.uid}
    any_of = parse_manifest(client.post(f"{V4}/getManifestFromPatientStudySeries", data=form).text)
    mine = {s.uid for s in truth.values() if s.patient_id == one.patient_id}
    assert set(any_of.series_uids) == mine | {other.uid}
    nothing = client.post(
        f"{V4}/getManifestForSimpleSearch", data={"criteriaType0": "CollectionCriteria", "value0": "X"}
    )
    assert nothing.status_code == 404


def test_ria_manifest_endpoint_tcia_and_csv(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    ct = {s.uid for s in truth.values() if s.modality == "CT"}
    tcia = client.get("/api/v1/manifest", params={"modality": "CT"}).text
    assert set(parse_manifest(tcia).series_uids) == ct
    as_csv = client.get("/api/v1/manifest", params={"modality": "CT", "format": "csv"}).text
    parsed = parse_manifest(as_csv)
    assert parsed.format is ManifestFormat.CSV and set(parsed.series_uids) == ct


def test_shared_carts_round_trip(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    chosen = sorted(truth)[:2]
    created = client.post("/api/v1/carts", json={"series": chosen})
    assert created.status_code == 201
    name = created.json()["name"]
    contents = client.get(f"{V1}/getContentsByName", params={"name": name}).json()
    assert sorted(row["SeriesInstanceUID"] for row in contents) == chosen
    assert all("Date Released" in row for row in contents)
    form = client.post("/nbia-api/services/createSharedList", data={"list": chosen[0], "name": "my-cart"})
    assert form.json()["name"] == "my-cart"
    again = client.post("/nbia-api/services/createSharedList", data={"list": chosen[0], "name": "my-cart"})
    assert again.status_code == 409
    unknown = client.post("/api/v1/carts", json={"series": ["1.2.3.4"]})
    assert unknown.status_code == 404
    assert client.get(f"{V1}/getContentsByName", params={"name": "no-such-cart"}).status_code == 404


def test_value_and_count_endpoints_count_patients(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    modality_patients: dict[str, set[tuple[str, str]]] = defaultdict(set)
    collection_patients: dict[str, set[str]] = defaultdict(set)
    for s in truth.values():
        if s.modality:
            modality_patients[s.modality].add((s.collection, s.patient_id))
        collection_patients[s.collection].add(s.patient_id)
    modalities = client.get(f"{V4}/getModalityValuesAndCounts").json()
    assert {r["Modality"]: r["Count"] for r in modalities} == {
        k: len(v) for k, v in modality_patients.items()
    }
    collections = client.get(f"{V4}/getCollectionValuesAndCounts").json()
    assert {r["Collection"]: r["Count"] for r in collections} == {
        k: len(v) for k, v in collection_patients.items()
    }
    assert client.get(f"{V4}/getModalityValuesAndCounts", params={"format": "json"}).status_code == 400


def test_dicom_tags_are_the_first_instance_header(
    client: httpx.Client, truth: dict[str, SeriesTruth]
) -> None:
    one = sorted(truth.values(), key=lambda s: s.uid)[0]
    rows = client.get(f"{V4}/getDicomTags", params={"SeriesUID": one.uid}).json()
    by_element = {row["element"]: row for row in rows}
    assert by_element["(0020,000E)"]["data"] == one.uid
    assert by_element["(0008,0060)"]["name"] == "Modality"
    assert by_element["(0010,0020)"]["data"] == one.patient_id
    assert "(7FE0,0010)" not in by_element
    missing = client.get(f"{V4}/getDicomTags", params={"SeriesUID": "1.2.3.4"})
    assert missing.status_code == 404


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_md5_endpoints_agree_with_hashlib(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    series_digest = {
        uid: _md5("".join(sorted(_md5(p.read_bytes()) for p in s.files)).encode()) for uid, s in truth.items()
    }
    one = sorted(truth.values(), key=lambda s: s.uid)[0]
    answer = client.post(f"{V4}/getMD5Hierarchy", data={"SeriesInstanceUID": one.uid})
    assert answer.text == series_digest[one.uid]
    study = [uid for uid, s in truth.items() if s.study_uid == one.study_uid]
    study_digest = _md5("".join(sorted(series_digest[uid] for uid in study)).encode())
    assert client.post(f"{V4}/getMD5Hierarchy", data={"StudyInstanceUID": one.study_uid}).text == study_digest
    sop, path = sorted(one.sops.items())[0]
    image = client.get(f"{V4}/getMD5HashForImage", params={"SOPInstanceUID": sop})
    assert image.text == _md5(path.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID) == sop
    assert client.post(f"{V4}/getMD5Hierarchy", data={}).status_code == 400


def test_doi_resolves_to_its_collection(client: httpx.Client, truth: dict[str, SeriesTruth]) -> None:
    form = {"DOI": "https://doi.org/10.7937/K9/TCIA.2016.AB2NAZRP", "CollectionOrSeries": "collection"}
    assert client.post(f"{V4}/getCollectionOrSeriesForDOI", data=form).json() == [
        {"collection": "TCGA-BRCA", "authorized": 1}
    ]
    form["CollectionOrSeries"] = "series"
    rows = client.post(f"{V4}/getCollectionOrSeriesForDOI", data=form).json()
    assert {r["seriesInstanceUID"] for r in rows} == {
        s.uid for s in truth.values() if s.collection == "TCGA-BRCA"
    }
    unknown = client.post(f"{V4}/getCollectionOrSeriesForDOI", data={"DOI": "10.1/none"})
    assert unknown.status_code == 404 and unknown.json()["details"]["parameter"] == "DOI"
