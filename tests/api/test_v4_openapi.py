"""Ria's TCIA v4 API against TCIA's own OpenAPI 3.1 description, over a live server holding real DICOM.

``nbia-api-v4.yaml`` (CBIIT/NBIA-TCIA ``docs/nbia-api.yaml``, copied into
``tests/api/data``) is loaded as it is. Every path it lists is called
with the method it gives (GET query parameters, POST form bodies), using only
parameter names the YAML declares for that operation and every one it requires.
JSON bodies are validated with ``jsonschema`` (Draft 2020-12) against the YAML's
200 schema for the content type served, ``$ref`` resolved inside the YAML
document through a ``referencing`` registry. Where Ria follows TCIA's server code
rather than the YAML (the two disagree), the path is listed in
:data:`KNOWN_DEVIATIONS` with the reason, and the body is held to the shape TCIA's
code answers (:data:`SERVER_CODE_SHAPES`) instead.

Expected values come from pydicom reads of the ingested files, never from a
server response. ``format`` in the YAML is an annotation (Draft 2020-12 does not
assert it by default), which is how TCIA's ``MM-DD-YYYY`` dates pass its
``format: date``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
import jsonschema  # type: ignore[import-untyped]
import pydicom
import pytest
import yaml  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ria.archive import Archive
from tests.api.nbia_spec import (
    BRCA,
    DOI,
    FORMATTED_PATHS,
    KNOWN_DEVIATIONS,
    LICENSE_NAME,
    LICENSE_URI,
    LUAD,
    SERVED_BEYOND_YAML,
    SERVER_CODE_SHAPES,
    SINCE,
    SPEC_FILE,
    SPEC_URI,
    STRICT_GET_PATHS,
    STRICT_POST_PATHS,
    V1,
    V4,
    Json,
    Row,
    Spec,
    declared_parameters,
)
from tests.conftest import Corpus


@pytest.fixture(scope="session")
def spec() -> Spec:
    if not SPEC_FILE.is_file():
        message = f"TCIA's OpenAPI description is not at {SPEC_FILE} (set RIA_NBIA_V4_YAML)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    document = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    registry: Registry[Json] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(document))
    return Spec(document, registry)


# --------------------------------------------------------------------------------------------------
# The corpus, and what pydicom says it holds


@dataclass(frozen=True)
class Instance:
    path: Path
    collection: str
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    instance_number: int
    modality: str
    body_part: str | None
    manufacturer: str | None
    study_date: dt.date | None
    size: int
    md5: str


@dataclass(frozen=True)
class Truth:
    root: Path
    instances: tuple[Instance, ...]

    def where(self, **wanted: str) -> list[Instance]:
        return [i for i in self.instances if all(getattr(i, k) == v for k, v in wanted.items())]

    def series_uids(self, **wanted: str) -> set[str]:
        return {i.series_uid for i in self.where(**wanted)}

    def first_series(self, collection: str) -> list[Instance]:
        uid = sorted(self.series_uids(collection=collection))[0]
        return sorted(self.where(series_uid=uid), key=lambda i: i.instance_number)

    def patients_per(self, field: str, **wanted: str) -> dict[str, int]:
        """Value of ``field`` → distinct patients ((collection, PatientID) pairs) having it."""
        seen: dict[str, set[tuple[str, str]]] = {}
        for i in self.where(**wanted):
            value = getattr(i, field)
            if value is not None:
                seen.setdefault(value, set()).add((i.collection, i.patient_id))
        return {value: len(people) for value, people in seen.items()}


def _text(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _date(value: object) -> dt.date | None:
    text = _text(value)
    return dt.datetime.strptime(text, "%Y%m%d").date() if text else None


def tcia_md5_hierarchy(digests: Iterable[str]) -> str:
    """TCIA's hierarchy hash (GeneralSeriesDAOImpl): MD5 of the sorted lowercase hex digests, concatenated."""
    return hashlib.md5("".join(sorted(digests)).encode("ascii")).hexdigest()


def _read(path: Path, collection: str) -> Instance:
    data = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return Instance(
        path=path,
        collection=collection,
        patient_id=str(ds.PatientID),
        study_uid=str(ds.StudyInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        sop_uid=str(ds.SOPInstanceUID),
        instance_number=int(ds.InstanceNumber),
        modality=str(ds.Modality),
        body_part=_text(ds.get("BodyPartExamined")),
        manufacturer=_text(ds.get("Manufacturer")),
        study_date=_date(ds.get("StudyDate")),
        size=len(data),
        md5=hashlib.md5(data).hexdigest(),
    )


@pytest.fixture(scope="module")
def truth(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Truth:
    """A copy of the session corpus with body parts (CHEST/LUNG by series for CT, BREAST for MR)."""
    root = tmp_path_factory.mktemp("v4-corpus")
    order = {uid: n for n, uid in enumerate(sorted(corpus.series_uids))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for source in corpus.files:
            target = root / source.relative_to(corpus.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            ds = pydicom.dcmread(source)
            if str(ds.Modality) == "CT":
                ds.BodyPartExamined = "CHEST" if order[str(ds.SeriesInstanceUID)] % 2 else "LUNG"
            else:
                ds.BodyPartExamined = "BREAST"
            ds.save_as(target, enforce_file_format=True)
    instances = tuple(_read(path, path.relative_to(root).parts[0]) for path in sorted(root.rglob("*.dcm")))
    assert {i.collection for i in instances} == {LUAD, BRCA}
    return Truth(root, instances)


@pytest.fixture
def v4(archive: Archive, client: httpx.Client, truth: Truth) -> httpx.Client:
    """The live server holding both collections, TCGA-LUAD with a DOI and licence recorded."""
    for collection in (LUAD, BRCA):
        report = archive.ingest([truth.root / collection], collection)
        assert report.ingested == len(truth.where(collection=collection)), report.summary()
    archive.writer().describe_collection(LUAD, doi=DOI, license_name=LICENSE_NAME, license_uri=LICENSE_URI)
    return client


# --------------------------------------------------------------------------------------------------
# Calls: valid parameters for every YAML path, and what to expect beyond the schema


def _calls(truth: Truth) -> dict[str, dict[str, str]]:
    series = truth.first_series(LUAD)
    uid, patient = series[0].series_uid, series[0].patient_id
    other = sorted(truth.series_uids(collection=LUAD))[1]
    ct_body_part = series[0].body_part or ""
    return {
        "/getSpeciesTax": {},
        "/getSimpleSearch": {
            "criteriaType0": "CollectionCriteria", "value0": LUAD, "sortField": "PatientID",
            "sortDirection": "ascending", "start": "0", "size": "2", "format": "json",
        },
        "/getMD5Hierarchy": {"SeriesInstanceUID": uid},
        "/getMD5HashForImage": {"SOPInstanceUID": series[0].sop_uid},
        "/getManifestFromPatientStudySeries": {"patientIDs": patient, "includeAnnotation": "true"},
        "/getManifestText": {"list": f"{uid},{other}", "includeAnnotation": "true"},
        "/getManifestForSimpleSearch": {
            "criteriaType0": "ImageModalityCriteria", "value0": "CT", "sortField": "subject",
            "sortDirection": "ascending", "start": "0", "size": "50",
        },
        "/getDicomTags": {"SeriesUID": uid},
        "/getSpeciesValuesAndCounts": {"format": "json"},
        "/getCollectionDescriptions": {"collectionName": LUAD},
        "/getCollectionOrSeriesForDOI": {
            "DOI": f"https://doi.org/{DOI}", "CollectionOrSeries": "collection", "format": "json",
        },
        "/getManufacturerValuesAndCounts": {"Collection": LUAD, "Modality": "CT"},
        "/getModalityValuesAndCounts": {"Collection": LUAD},
        "/getCollectionValuesAndCounts": {"format": "json"},
        "/getBodyPartValuesAndCounts": {"Collection": LUAD, "Modality": "CT"},
        "/getPatient": {"Collection": LUAD, "PatientId": patient, "format": "json"},
        "/getPatientStudy": {"Collection": LUAD, "PatientID": patient, "format": "json"},
        "/getUpdatedSeries": {"fromDate": SINCE, "format": "json"},
        "/getSeriesSize": {"SeriesInstanceUID": uid, "format": "json"},
        "/getSeriesMetadata": {"list": uid, "format": "csv"},
        "/getSeries": {"Collection": LUAD, "Modality": "CT", "format": "json"},
        "/getPatientByCollectionAndModality": {"Collection": LUAD, "Modality": "CT", "format": "json"},
        "/NewStudiesInPatientCollection": {"Collection": LUAD, "fromDate": SINCE, "format": "json"},
        "/NewPatientsInCollection": {"Collection": LUAD, "fromDate": SINCE, "format": "json"},
        "/getModalityValues": {"format": "json"},
        "/getImage": {"SeriesInstanceUID": uid, "NewFileNames": "Yes", "IncludeMD5": "Yes"},
        "/getImageWithMD5Hash": {"SeriesInstanceUID": uid},
        "/getCollectionValues": {"format": "json"},
        "/getManufacturerValues": {
            "Collection": LUAD, "Modality": "CT", "BodyPartExamined": ct_body_part, "format": "json",
        },
        "/getBodyPartValues": {"Collection": LUAD, "Modality": "CT", "format": "json"},
        "/getManifestForCollection": {"collection": LUAD, "visibility": "1", "includeAnnotation": "true"},
        "/getMinMaxTimepoints": {},
    }  # fmt: skip


def _manifest_series(text: str) -> list[str]:
    """The series of a .tcia manifest: clients skip every line holding '='."""
    return [line.strip() for line in text.splitlines() if line.strip() and "=" not in line]


def _zip_names(body: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return archive.namelist()


Check = Callable[[httpx.Response, Truth, dict[str, str]], None]


def _values(key: str, values: Iterable[str | None]) -> list[Row]:
    return [{key: value} for value in sorted({v for v in values if v is not None})]


def _counts(key: str, counts: dict[str, int]) -> list[Row]:
    return [{key: value, "Count": count, "Authorized": 1} for value, count in sorted(counts.items())]


def _checks() -> dict[str, Check]:
    """Per-path checks of values, against pydicom's reading of the files."""

    def modality_values(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert r.json() == _values("Modality", (i.modality for i in t.instances))

    def manufacturer_values(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        rows = t.where(collection=p["Collection"], modality=p["Modality"], body_part=p["BodyPartExamined"])
        assert r.json() == _values("Manufacturer", (i.manufacturer for i in rows))

    def collection_values(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert r.json() == _values("Collection", (i.collection for i in t.instances))

    def body_part_values(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        rows = t.where(collection=p["Collection"], modality=p["Modality"])
        assert r.json() == _values("BodyPartExamined", (i.body_part for i in rows))

    def modality_counts(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert r.json() == _counts("Modality", t.patients_per("modality", collection=p["Collection"]))

    def manufacturer_counts(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        counts = t.patients_per("manufacturer", collection=p["Collection"], modality=p["Modality"])
        assert r.json() == _counts("Manufacturer", counts)

    def body_part_counts(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        counts = t.patients_per("body_part", collection=p["Collection"], modality=p["Modality"])
        assert r.json() == _counts("BodyPart", {k.upper(): v for k, v in counts.items()})

    def collection_counts(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert r.json() == _counts("Collection", t.patients_per("collection"))

    def species_counts(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        # No PatientSpeciesCodeSequence in these files: every subject is human (SNOMED 337915000).
        patients = {(i.collection, i.patient_id) for i in t.instances}
        assert r.json() == [{"Species": "337915000", "Count": len(patients), "Authorized": 1}]

    def series_size(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        rows = t.where(series_uid=p["SeriesInstanceUID"])
        assert r.json() == [{"TotalSizeInBytes": sum(i.size for i in rows), "ObjectCount": len(rows)}]

    def simple_search(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        body = r.json()
        patients = sorted({i.patient_id for i in t.where(collection=p["value0"])})
        assert body["totalPatients"] == len(patients)
        assert [s["subjectId"] for s in body["resultSet"]] == patients[: int(p["size"])]
        assert {s["project"] for s in body["resultSet"]} == {p["value0"]}

    def updated_series(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert {row["SeriesInstanceUID"] for row in r.json()} == t.series_uids()

    def get_series(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        rows = r.json()
        expected = t.series_uids(collection=p["Collection"], modality=p["Modality"])
        assert {row["SeriesInstanceUID"] for row in rows} == expected
        for row in rows:
            files = t.where(series_uid=row["SeriesInstanceUID"])
            assert (row["ImageCount"], row["FileSize"]) == (len(files), sum(i.size for i in files))
            assert row["LicenseName"] == LICENSE_NAME and row["LicenseURI"] == LICENSE_URI

    def patients(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        wanted = {"collection": p["Collection"]}
        if "Modality" in p:
            wanted["modality"] = p["Modality"]
        if "PatientId" in p:  # v4 getPatient spells it PatientId
            wanted["patient_id"] = p["PatientId"]
        rows = r.json()
        assert sorted(row["PatientId"] for row in rows) == sorted({i.patient_id for i in t.where(**wanted)})
        assert {row.get("Collection", p["Collection"]) for row in rows} == {p["Collection"]}

    def studies(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        wanted = {
            "collection": p["Collection"],
            **({"patient_id": p["PatientID"]} if "PatientID" in p else {}),
        }
        rows = r.json()
        assert sorted(row["StudyInstanceUID"] for row in rows) == sorted(
            {i.study_uid for i in t.where(**wanted)}
        )
        for row in rows:
            assert row["SeriesCount"] == len(t.series_uids(study_uid=row["StudyInstanceUID"]))

    def md5_for_image(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert r.text.strip() == t.where(sop_uid=p["SOPInstanceUID"])[0].md5

    def md5_hierarchy(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        files = t.where(series_uid=p["SeriesInstanceUID"])
        assert r.text.strip() == tcia_md5_hierarchy(i.md5 for i in files)

    def dicom_tags(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        tags = {row["element"]: row.get("data") for row in r.json()}
        first = t.where(series_uid=p["SeriesUID"])[0]
        assert tags["(0020,000E)"] == first.series_uid
        assert tags["(0008,0060)"] == first.modality

    def descriptions(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        rows = r.json()
        assert [row["collectionName"] for row in rows] == [p["collectionName"]]
        assert rows[0]["descriptionURI"] == f"https://doi.org/{DOI}"

    def for_doi(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert [row["collection"] for row in r.json()] == [LUAD]

    def manifest_of(expected: Callable[[Truth, dict[str, str]], set[str]]) -> Check:
        def check(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
            assert r.text.startswith("downloadServerUrl="), r.text[:200]
            listed = _manifest_series(r.text)
            assert len(listed) == len(set(listed))
            assert set(listed) == expected(t, p)

        return check

    def series_metadata(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [row["SeriesInstanceUID"] for row in rows] == [p["list"]]

    def zipped(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        names = _zip_names(r.content)
        assert names[0] == "LICENSE" and names[-1] == "md5hashes.csv"
        assert len(names) == len(t.where(series_uid=p["SeriesInstanceUID"])) + 2

    def min_max(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        dates = sorted(i.study_date for i in t.instances if i.study_date is not None)
        assert r.json() == {
            "minTimepoint": dates[0].strftime("%m-%d-%Y"),
            "maxTimepoint": dates[-1].strftime("%m-%d-%Y"),
        }

    def species_tax(r: httpx.Response, t: Truth, p: dict[str, str]) -> None:
        assert {"speciesCode": "337915000", "speciesDescription": "Homo sapiens"} in r.json()

    return {
        "/getModalityValues": modality_values,
        "/getManufacturerValues": manufacturer_values,
        "/getCollectionValues": collection_values,
        "/getBodyPartValues": body_part_values,
        "/getModalityValuesAndCounts": modality_counts,
        "/getManufacturerValuesAndCounts": manufacturer_counts,
        "/getBodyPartValuesAndCounts": body_part_counts,
        "/getCollectionValuesAndCounts": collection_counts,
        "/getSpeciesValuesAndCounts": species_counts,
        "/getSeriesSize": series_size,
        "/getSimpleSearch": simple_search,
        "/getUpdatedSeries": updated_series,
        "/getSeries": get_series,
        "/getPatient": patients,
        "/NewPatientsInCollection": patients,
        "/getPatientByCollectionAndModality": patients,
        "/getPatientStudy": studies,
        "/NewStudiesInPatientCollection": studies,
        "/getMD5HashForImage": md5_for_image,
        "/getMD5Hierarchy": md5_hierarchy,
        "/getDicomTags": dicom_tags,
        "/getCollectionDescriptions": descriptions,
        "/getCollectionOrSeriesForDOI": for_doi,
        "/getManifestText": manifest_of(lambda t, p: set(p["list"].split(","))),
        "/getManifestForCollection": manifest_of(lambda t, p: t.series_uids(collection=p["collection"])),
        "/getManifestFromPatientStudySeries": manifest_of(
            lambda t, p: t.series_uids(patient_id=p["patientIDs"])
        ),
        "/getManifestForSimpleSearch": manifest_of(lambda t, p: t.series_uids(modality=p["value0"])),
        "/getSeriesMetadata": series_metadata,
        "/getImage": zipped,
        "/getImageWithMD5Hash": zipped,
        "/getMinMaxTimepoints": min_max,
        "/getSpeciesTax": species_tax,
    }


def _call(client: httpx.Client, method: str, path: str, params: dict[str, str]) -> httpx.Response:
    if method == "get":
        return client.get(V4 + path, params=params)
    assert method == "post"
    return client.post(V4 + path, data=params)  # httpx sends application/x-www-form-urlencoded


def _media_type(response: httpx.Response) -> str:
    header: str = response.headers.get("content-type", "")
    return header.split(";")[0].strip().lower()


def _still_deviates(spec: Spec, path: str, method: str, media_type: str, body: Json) -> bool:
    """Whether the YAML still disagrees with the body: it rejects it, or a property it names is absent."""
    if not spec.validator(path, method, media_type).is_valid(body):
        return True
    schema = spec.schema(path, method, media_type)
    rows = body if isinstance(body, list) else [body]
    if schema.get("type") == "array":
        schema = spec.resolve(schema.get("items", {}))
    properties = set(schema.get("properties", {}))
    return any(name not in row for row in rows for name in properties)


# --------------------------------------------------------------------------------------------------
# Tests


def test_deviation_tables_agree(spec: Spec) -> None:
    paths = set(spec.operations())
    assert set(KNOWN_DEVIATIONS) == set(SERVER_CODE_SHAPES)
    assert set(KNOWN_DEVIATIONS) <= paths, set(KNOWN_DEVIATIONS) - paths
    assert not set(SERVED_BEYOND_YAML) & paths


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the route table, not the data
def test_every_yaml_path_is_served_and_nothing_else(spec: Spec, client: httpx.Client) -> None:
    served = client.get("/api/v1/openapi.json").json()["paths"]
    v4_paths = {p.removeprefix(V4): item for p, item in served.items() if p.startswith(V4 + "/")}
    assert set(v4_paths) == set(spec.operations()) | set(SERVED_BEYOND_YAML)
    for path, (method, _operation) in spec.operations().items():
        assert method in v4_paths[path], (
            f"{path}: the YAML says {method.upper()}, served {set(v4_paths[path])}"
        )


def test_every_yaml_path_answers_its_documented_200(spec: Spec, v4: httpx.Client, truth: Truth) -> None:
    calls, checks, operations = _calls(truth), _checks(), spec.operations()
    assert set(calls) == set(operations), "a YAML path without a call, or a call for no YAML path"
    assert set(checks) == set(operations), "every path's values are checked"
    failures: list[str] = []
    for path, (method, operation) in sorted(operations.items()):
        params = calls[path]
        declared, required = declared_parameters(operation)
        assert set(params) <= declared, f"{path}: {set(params) - declared} are not in the YAML"
        assert required <= set(params), f"{path}: the YAML requires {required - set(params)}"
        response = _call(v4, method, path, params)
        try:
            _verify(spec, path, method, operation, response, truth, params, checks[path])
        except AssertionError as exc:
            failures.append(f"{method.upper()} {path}: {exc}")
    assert not failures, "\n".join(failures)


def _verify(
    spec: Spec,
    path: str,
    method: str,
    operation: dict[str, Json],
    response: httpx.Response,
    truth: Truth,
    params: dict[str, str],
    check: Check,
) -> None:
    assert response.status_code == 200, f"{response.status_code} {response.text[:300]}"
    served = _media_type(response)
    documented = set(operation["responses"]["200"]["content"])
    shape = SERVER_CODE_SHAPES.get(path)
    if shape is not None:
        assert served == shape.media_type, f"served {served}, TCIA's code serves {shape.media_type}"
    elif "*/*" in documented:
        assert served == "application/zip", f"a download is served as {served}"
    else:
        assert served in documented, f"served {served}; the YAML documents {sorted(documented)}"
    assert response.content, "an empty body: the corpus should answer every path with something"
    if served == "application/json":
        body = response.json()
        if shape is not None and shape.schema is not None:
            jsonschema.Draft202012Validator(shape.schema).validate(body)
            if served in documented:
                assert _still_deviates(spec, path, method, served, body), "the YAML agrees now: drop it"
        else:
            errors = list(spec.validator(path, method, served).iter_errors(body))
            assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    elif served in documented and "schema" in operation["responses"]["200"]["content"][served]:
        schema = operation["responses"]["200"]["content"][served]["schema"]
        if schema.get("type") == "string":
            spec.validator(path, method, served).validate(response.text)
    check(response, truth, params)


def _json_rows(response: httpx.Response) -> list[dict[str, str]]:
    """JSON rows with every value as TCIA's text formats write it."""
    return [{k: str(v) for k, v in row.items()} for row in response.json()]


def _format_params(truth: Truth) -> dict[str, dict[str, str]]:
    series = truth.first_series(LUAD)
    uid = series[0].series_uid
    calls = _calls(truth)
    return {
        path: {k: v for k, v in calls.get(path, {}).items() if k != "format"}
        for path in FORMATTED_PATHS
        if path in calls
    } | {"/getSOPInstanceUIDs": {"SeriesInstanceUID": uid}}


def test_list_endpoints_answer_csv_xml_and_html(v4: httpx.Client, truth: Truth) -> None:
    params = _format_params(truth)
    assert set(params) == set(FORMATTED_PATHS)
    for path, query in params.items():
        as_json = v4.get(V4 + path, params=query | {"format": "json"})
        assert as_json.status_code == 200, (path, as_json.text[:200])
        expected = _json_rows(as_json)
        assert expected, path

        as_csv = v4.get(V4 + path, params=query | {"format": "csv"})
        assert as_csv.status_code == 200 and _media_type(as_csv) == "text/csv", path
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        # CSV keeps every column (an absent value is ""); JSON omits nulls.
        assert [{k: v for k, v in row.items() if v != ""} for row in rows] == expected, path

        as_xml = v4.get(V4 + path, params=query | {"format": "xml"})
        assert as_xml.status_code == 200 and _media_type(as_xml) == "application/xml", path
        root = ET.fromstring(as_xml.content)
        parsed = [{child.tag: child.text or "" for child in row} for row in root]
        assert parsed == expected, path

        as_html = v4.get(V4 + path, params=query | {"format": "html"})
        assert as_html.status_code == 200 and _media_type(as_html) == "text/html", path
        assert "<TABLE" in as_html.text.upper(), path
        assert as_html.text.upper().count("<TR>") == len(expected) + 1, path

    unknown = v4.get(V4 + "/getCollectionValues", params={"format": "yaml"})
    assert unknown.status_code == 400
    assert unknown.json()["details"]["parameter"] == "format"


def _strict_get_params(truth: Truth) -> dict[str, dict[str, str]]:
    calls = _calls(truth)
    series = truth.first_series(LUAD)
    extra = {
        "/getSOPInstanceUIDs": {"SeriesInstanceUID": series[0].series_uid},
        "/getSingleImage": {"SeriesInstanceUID": series[0].series_uid, "SOPInstanceUID": series[0].sop_uid},
    }
    return {path: (calls | extra)[path] for path in STRICT_GET_PATHS}


def test_v4_rejects_an_unknown_query_parameter_naming_it(v4: httpx.Client, truth: Truth) -> None:
    for path, params in _strict_get_params(truth).items():
        valid = v4.get(V4 + path, params=params)
        assert valid.status_code == 200, (path, valid.status_code, valid.text[:200])
        for unknown in ("NotAParameter", "collection" if "Collection" in params else "seriesinstanceuid"):
            response = v4.get(V4 + path, params=params | {unknown: "x"})
            assert response.status_code == 400, (path, unknown, response.status_code)
            assert _media_type(response) == "application/json", path
            body = response.json()
            assert body["error"] == "invalid_parameter", (path, body)
            assert body["details"]["parameter"] == unknown, (path, body)
            assert unknown in body["message"], (path, body)
    # v1 keeps TCIA's older leniency: unknown parameters are ignored.
    lenient = v4.get(V1 + "/getCollectionValues", params={"NotAParameter": "x"})
    assert lenient.status_code == 200


def test_v4_rejects_an_unknown_form_parameter_naming_it(v4: httpx.Client, truth: Truth) -> None:
    calls = _calls(truth)
    for path in STRICT_POST_PATHS:
        response = v4.post(V4 + path, data=calls[path] | {"NotAParameter": "x"})
        assert response.status_code == 400, (path, response.status_code, response.text[:200])
        body = response.json()
        assert body["error"] == "invalid_parameter" and body["details"]["parameter"] == "NotAParameter", (
            path,
            body,
        )


def test_series_metadata_csv_has_the_columns_of_the_yaml_example(
    spec: Spec, v4: httpx.Client, truth: Truth
) -> None:
    _method, operation = spec.operations()["/getSeriesMetadata"]
    example = operation["responses"]["200"]["content"]["text/csv"]["example"]
    yaml_columns = next(csv.reader(io.StringIO(example)))
    uid = truth.first_series(LUAD)[0].series_uid
    response = v4.post(V4 + "/getSeriesMetadata", data={"list": uid})
    assert response.status_code == 200
    served_columns = next(csv.reader(io.StringIO(response.text)))
    assert served_columns == yaml_columns


def test_doi_resolves_to_the_collection_and_to_its_series(spec: Spec, v4: httpx.Client, truth: Truth) -> None:
    validator = spec.validator("/getCollectionOrSeriesForDOI", "post", "application/json")
    for doi in (DOI, f"https://doi.org/{DOI}", f"doi:{DOI.upper()}"):
        response = v4.post(
            V4 + "/getCollectionOrSeriesForDOI", data={"DOI": doi, "CollectionOrSeries": "collection"}
        )
        assert response.status_code == 200, (doi, response.text[:200])
        validator.validate(response.json())
        assert [row["collection"] for row in response.json()] == [LUAD]
    series = v4.post(V4 + "/getCollectionOrSeriesForDOI", data={"DOI": DOI, "CollectionOrSeries": "series"})
    assert series.status_code == 200
    validator.validate(series.json())
    assert {row["seriesInstanceUID"] for row in series.json()} == truth.series_uids(collection=LUAD)
    unknown = v4.post(V4 + "/getCollectionOrSeriesForDOI", data={"DOI": "10.9999/nothing"})
    assert unknown.status_code == 404
    assert unknown.json()["details"]["parameter"] == "DOI"


def test_md5_hierarchy_is_tcias_digest_of_sorted_digests(v4: httpx.Client, truth: Truth) -> None:
    """Series: MD5 of its instances' sorted MD5s; study: MD5 of its series' sorted hierarchy hashes."""
    series = truth.first_series(LUAD)
    study = series[0].study_uid
    per_series = {
        uid: tcia_md5_hierarchy(i.md5 for i in truth.where(series_uid=uid))
        for uid in truth.series_uids(study_uid=study)
    }
    for uid, expected in per_series.items():
        response = v4.post(V4 + "/getMD5Hierarchy", data={"SeriesInstanceUID": uid})
        assert response.status_code == 200 and response.text.strip() == expected
    response = v4.post(V4 + "/getMD5Hierarchy", data={"StudyInstanceUID": study})
    assert response.status_code == 200
    assert response.text.strip() == tcia_md5_hierarchy(per_series.values())
