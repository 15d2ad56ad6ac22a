"""The HTTP API over a real socket: health, getCollectionValues, errors as JSON."""

from __future__ import annotations

import csv
import io

import httpx

from ria.archive import Archive
from tests.conftest import Corpus, read_corpus


def test_health_reports_database_and_storage(client: httpx.Client) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["storage"] == "ok"


def test_empty_archive_get_collection_values_is_an_empty_200(client: httpx.Client) -> None:
    response = client.get("/nbia-api/services/v1/getCollectionValues")
    assert response.status_code == 200
    assert response.content == b""


def test_get_collection_values_lists_ingested_collections(
    archive: Archive, client: httpx.Client, corpus: Corpus
) -> None:
    luad = [p for p in corpus.files if "TCGA-LUAD" in p.parts]
    brca = [p for p in corpus.files if "TCGA-BRCA" in p.parts]
    assert luad and brca
    archive.ingest(luad, "TCGA-LUAD")
    archive.ingest(brca, "TCGA-BRCA")
    response = client.get("/nbia-api/services/v1/getCollectionValues")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == [{"Collection": "TCGA-BRCA"}, {"Collection": "TCGA-LUAD"}]

    as_csv = client.get("/nbia-api/services/v1/getCollectionValues", params={"format": "csv"})
    assert as_csv.status_code == 200
    assert list(csv.DictReader(io.StringIO(as_csv.text))) == [
        {"Collection": "TCGA-BRCA"},
        {"Collection": "TCGA-LUAD"},
    ]


def test_collections_endpoint_counts_match_an_independent_read(
    archive: Archive, client: httpx.Client, corpus: Corpus
) -> None:
    archive.ingest([corpus.root / "TCGA-LUAD"], "TCGA-LUAD")
    expected = read_corpus(corpus.root / "TCGA-LUAD")
    body = client.get("/api/v1/collections").json()
    assert body[0].pop("created_at")  # when the collection was first filed
    assert body == [
        {
            "name": "TCGA-LUAD",
            "patients": len(expected.patients),
            "studies": len(expected.study_uids),
            "series": len(expected.series_uids),
            "instances": len(expected.sop_uids),
            "bytes": expected.total_bytes,
            "modalities": ["CT"],
        }
    ]


def test_unknown_format_is_a_400_naming_the_parameter(client: httpx.Client) -> None:
    response = client.get("/nbia-api/services/v1/getCollectionValues", params={"format": "yaml"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_parameter"
    assert body["details"]["parameter"] == "format"


def test_unknown_route_is_a_json_404(client: httpx.Client) -> None:
    response = client.get("/nbia-api/services/v1/noSuchEndpoint")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_openapi_document_lists_the_routes(client: httpx.Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/nbia-api/services/v1/getCollectionValues" in spec["paths"]
    assert "/api/v1/health" in spec["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_a_lost_database_is_a_json_503_without_details(archive: Archive, client: httpx.Client) -> None:
    from sqlalchemy import text

    with archive.engine.begin() as conn:
        conn.execute(text("DROP TABLE instance"))
        conn.execute(text("DROP TABLE series"))
    response = client.get("/nbia-api/services/v1/getCollectionValues")
    assert response.status_code == 503
    assert response.json() == {
        "error": "catalog_unavailable",
        "message": "the catalogue is unavailable; try again later",
    }
