"""A NUL character in any value is a 400 naming the parameter, on SQLite and PostgreSQL alike.

PostgreSQL cannot compare text holding NUL (schemathesis found ``getModalityValues?BodyPartExamined=%00``
answering 503 there while SQLite answered 200). Requests without NUL must pass the guard untouched,
bodies included, which the second test checks against answers computed from the ingested file.
"""

from __future__ import annotations

from typing import Any

import httpx
import pydicom
import pytest

from ria.archive import Archive
from ria.sample import find_test_file

COLLECTION = "TCGA-LUAD"


@pytest.fixture
def ct(archive: Archive) -> pydicom.Dataset:
    path = find_test_file("CT_small.dcm")
    archive.ingest([path], COLLECTION)
    return pydicom.dcmread(path, stop_before_pixels=True)


NUL_REQUESTS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "GET",
        "/nbia-api/services/v1/getModalityValues",
        {"params": {"BodyPartExamined": "E\x00"}},
        "BodyPartExamined",
    ),
    ("GET", "/nbia-api/services/v1/getSeries", {"params": {"Collection": "TCGA\x00LUAD"}}, "Collection"),
    ("GET", "/dicomweb/studies", {"params": {"PatientName": "A\x00*"}}, "PatientName"),
    ("GET", "/api/v1/collections", {"params": {"\x00name": "x"}}, "name"),
    ("GET", "/dicomweb/studies/1.2%00.3/series", {}, "path"),
    (
        "POST",
        "/nbia-api/services/v4/getSimpleSearch",
        {"data": {"criteriaType0": "CollectionCriteria", "value0": "TCGA-\x00LUAD"}},
        "value0",
    ),
    (
        "POST",
        "/api/v1/cohorts/query",
        {"json": {"collection": ["TCGA-LUAD"], "mutated": ["KR\x00AS"]}},
        "mutated",
    ),
]


@pytest.mark.parametrize(("method", "path", "request_args", "parameter"), NUL_REQUESTS)
def test_a_nul_anywhere_is_a_400_naming_it(
    client: httpx.Client,
    ct: pydicom.Dataset,
    method: str,
    path: str,
    request_args: dict[str, Any],
    parameter: str,
) -> None:
    response = client.request(method, path, **request_args)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_parameter" and body["details"]["parameter"] == parameter
    assert "NUL" in body["message"]


def test_requests_without_nul_pass_with_their_bodies(client: httpx.Client, ct: pydicom.Dataset) -> None:
    modalities = client.get("/nbia-api/services/v1/getModalityValues", params={"Collection": COLLECTION})
    assert modalities.json() == [{"Modality": ct.Modality}]
    form = {"criteriaType0": "CollectionCriteria", "value0": COLLECTION}
    found = client.post("/nbia-api/services/v4/getSimpleSearch", data=form)
    assert found.status_code == 200 and [s["subjectId"] for s in found.json()["resultSet"]] == [ct.PatientID]
    cohort = client.post("/api/v1/cohorts/query", json={"collection": [COLLECTION]})
    assert cohort.status_code == 200, cohort.text
    series = client.get("/dicomweb/series", params={"Modality": ct.Modality})
    assert [s["0020000E"]["Value"][0] for s in series.json()] == [str(ct.SeriesInstanceUID)]


def test_the_token_endpoint_refuses_a_nul_the_oauth_way(client: httpx.Client) -> None:
    """RFC 6749 §5.2 on the token endpoint (its declared 400), not Ria's error body; never cached."""
    form = {"grant_type": "password", "username": "ro\x00ot", "password": "x", "client_id": "nbia"}
    response = client.post("/nbia-api/oauth/token", data=form)
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "invalid_request"
    assert "username" in body["error_description"] and "NUL" in body["error_description"]
