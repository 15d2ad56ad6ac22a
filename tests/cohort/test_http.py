"""``/api/v1/cohorts`` and ``/api/v1/genomics/linkage`` over a real server on loopback, on real data."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from tests.api.conftest import LiveServer
from tests.cohort.conftest import Radiogenomic
from tests.cohort.truth import Truth

KRAS_LUAD_CT = {"collection": ["TCGA-LUAD"], "modality": ["CT"], "mutated": ["KRAS"]}


@pytest.fixture(scope="module")
def http(radiogenomic: Radiogenomic) -> Iterator[httpx.Client]:
    with LiveServer(radiogenomic.archive) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def test_series_as_json(http: httpx.Client, truth: Truth) -> None:
    answer = http.post("/api/v1/cohorts/query", json=KRAS_LUAD_CT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = truth.uids(["TCGA-LUAD"], "CT", truth.carriers("KRAS"))
    assert {s["SeriesInstanceUID"] for s in body["series"]} == expected
    assert body["count"] == len(expected)
    assert body["query"]["mutated"][0]["gene"] == "KRAS"
    assert all(s["PatientID"] in truth.carriers("KRAS") and s["Modality"] == "CT" for s in body["series"])


def test_series_as_csv(http: httpx.Client, truth: Truth) -> None:
    answer = http.post("/api/v1/cohorts/query", params={"format": "csv"}, json=KRAS_LUAD_CT)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {r["SeriesInstanceUID"] for r in rows} == truth.uids(["TCGA-LUAD"], "CT", truth.carriers("KRAS"))


def test_conditions_in_both_spellings_agree(http: httpx.Client) -> None:
    spelled = {"collection": ["TCGA-OV"], "clinical": ["vital_status=Dead", "days_to_death<=1095"]}
    structured = {
        "collection": ["TCGA-OV"],
        "clinical": [
            {"field": "vital_status", "op": "eq", "value": "Dead"},
            {"field": "days_to_death", "op": "le", "value": 1095},
        ],
    }
    first = http.post("/api/v1/cohorts/query", json=spelled).json()
    second = http.post("/api/v1/cohorts/query", json=structured).json()
    assert first["count"] == second["count"] > 0
    assert first["series"] == second["series"]


def test_patients_facets_manifest_citation(
    http: httpx.Client, truth: Truth, radiogenomic: Radiogenomic
) -> None:
    carriers = truth.patients_of(["TCGA-LUAD"], "CT") & truth.carriers("KRAS")
    patients = http.post("/api/v1/cohorts/query", params={"view": "patients"}, json=KRAS_LUAD_CT).json()
    assert {p["PatientID"] for p in patients["patients"]} == carriers
    assert all(p["KRAS_mutated"] is True for p in patients["patients"])

    facets = http.post("/api/v1/cohorts/query", params={"view": "facets"}, json=KRAS_LUAD_CT).json()
    assert facets["facets"]["modality"] == [
        {"value": "CT", "patients": len(carriers), "series": len(truth.uids(["TCGA-LUAD"], "CT", carriers))}
    ]

    manifest = http.post(
        "/api/v1/cohorts/query", params={"view": "manifest", "format": "tcia"}, json=KRAS_LUAD_CT
    )
    lines = manifest.text.splitlines()
    assert lines[0].startswith("downloadServerUrl=http://127.0.0.1:")
    local = {
        s.series_instance_uid
        for s in radiogenomic.local
        if s.patient_id in carriers and s.collection == "TCGA-LUAD" and s.modality == "CT"
    }
    assert local
    assert set(lines[6:]) == local  # only series this archive can serve go into a .tcia manifest

    s5cmd = http.post(
        "/api/v1/cohorts/query", params={"view": "manifest", "format": "s5cmd"}, json=KRAS_LUAD_CT
    ).text.splitlines()
    remote = truth.series[
        truth.series.uid.isin(truth.uids(["TCGA-LUAD"], "CT", carriers)) & truth.series.url.notna()
    ]
    assert len(s5cmd) == len(remote) > 0
    for row in remote.itertuples():
        assert f"cp '{row.url}' './TCGA-LUAD/{row.patient_id}/{row.uid}/'" in s5cmd

    citation = http.post("/api/v1/cohorts/query", params={"view": "citation"}, json=KRAS_LUAD_CT).json()
    assert [c["name"] for c in citation["collections"]] == ["TCGA-LUAD"]
    assert "TCGA Research Network" in citation["acknowledgment"]
    assert "10.7937/K9/TCIA.2016.JGNIHEP5" in citation["text"].upper()


@pytest.mark.parametrize("fmt", ["png", "svg", "json"])
def test_survival_endpoint(http: httpx.Client, fmt: str) -> None:
    answer = http.post(
        "/api/v1/cohorts/survival",
        params={"split_by": "clinical:project", "format": fmt},
        json={"collection": ["TCGA-OV", "TCGA-BRCA"]},
    )
    assert answer.status_code == 200, answer.text
    if fmt == "png":
        assert answer.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(answer.content)).format == "PNG"
    elif fmt == "svg":
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert "log-rank p" in answer.text
    else:
        body = answer.json()
        assert {g["name"] for g in body["groups"]} == {"TCGA-BRCA", "TCGA-OV"}
        assert 0 <= body["logrank_p"] <= 1


def test_fields_and_linkage(http: httpx.Client, truth: Truth) -> None:
    fields = http.get("/api/v1/cohorts/fields").json()
    assert fields["labels"]["IDH_status"] == "text"
    assert fields["labels"]["mutations_count"] == "number"
    assert "survival_days" in fields["clinical"]
    linkage = http.get("/api/v1/genomics/linkage", params={"collection": "TCGA-LUAD"}).json()
    assert [c["collection"] for c in linkage["collections"]] == ["TCGA-LUAD"]
    imaged = truth.patients_of(["TCGA-LUAD"])
    assert linkage["collections"][0]["with_mutations"] == len(imaged & truth.sequenced())


@pytest.mark.parametrize(
    ("params", "body", "parameter"),
    [
        ({}, {"colection": ["TCGA-LUAD"]}, "colection"),
        ({}, {"clinical": ["survival<3"]}, "survival"),
        ({}, {"clinical": ["days_to_death<=soon"]}, "days_to_death"),
        ({}, {"labels": ["IDH=Mutant"]}, "IDH"),
        ({}, {"mutated": ["K RAS"]}, "gene"),
        ({"view": "everything"}, {}, "view"),
        ({"format": "tcia"}, {}, "format"),
    ],
)
def test_bad_queries_are_400_with_the_parameter_named(
    http: httpx.Client, params: dict[str, str], body: dict[str, object], parameter: str
) -> None:
    answer = http.post("/api/v1/cohorts/query", params=params, json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["error"] == "invalid_parameter"
    assert parameter in error["message"] or error.get("details", {}).get("parameter") == parameter


def test_openapi_documents_the_cohort_routes(http: httpx.Client) -> None:
    spec = http.get("/api/v1/openapi.json").json()
    assert "/api/v1/cohorts/query" in spec["paths"]
    assert "/api/v1/cohorts/survival" in spec["paths"]
    assert "CohortQueryBody" in spec["components"]["schemas"]
