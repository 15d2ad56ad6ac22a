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
            # a fresh collection is public, and far from the 100 cases that start an embargo
            "access_level": "public",
            "embargo_status": "none",
            "embargo_ends_at": None,
            "embargo_notice": None,
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


def test_value_lists_and_sop_uids_match_an_independent_read(
    archive: Archive, client: httpx.Client, corpus: Corpus
) -> None:
    import warnings

    import pydicom

    archive.ingest([corpus.root / "TCGA-LUAD"], "TCGA-LUAD")
    archive.ingest([corpus.root / "TCGA-BRCA"], "TCGA-BRCA")
    by_series: dict[str, set[str]] = {}
    modalities: dict[str, set[str]] = {}
    manufacturers: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in corpus.files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            collection = "TCGA-LUAD" if "TCGA-LUAD" in path.parts else "TCGA-BRCA"
            modalities.setdefault(collection, set()).add(str(ds.Modality))
            by_series.setdefault(str(ds.SeriesInstanceUID), set()).add(str(ds.SOPInstanceUID))
            if ds.get("Manufacturer"):
                manufacturers.add(str(ds.Manufacturer))
    base = "/nbia-api/services/v1"
    for collection, expected in modalities.items():
        answer = client.get(f"{base}/getModalityValues", params={"Collection": collection}).json()
        assert answer == [{"Modality": m} for m in sorted(expected)]
    everything = client.get(f"{base}/getModalityValues").json()
    assert everything == [{"Modality": m} for m in sorted(set().union(*modalities.values()))]
    answer = client.get(f"{base}/getManufacturerValues").json()
    assert answer == [{"Manufacturer": m} for m in sorted(manufacturers)]
    assert client.get(f"{base}/getBodyPartValues", params={"Collection": "nope"}).content == b""
    series_uid, sops = sorted(by_series.items())[0]
    answer = client.get(f"{base}/getSOPInstanceUIDs", params={"SeriesInstanceUID": series_uid}).json()
    assert sorted(row["SOPInstanceUID"] for row in answer) == sorted(sops)


def test_sop_uids_needs_a_valid_series_uid(client: httpx.Client) -> None:
    missing = client.get("/nbia-api/services/v1/getSOPInstanceUIDs")
    assert missing.status_code == 400
    assert missing.json()["details"]["parameter"] == "SeriesInstanceUID"
    malformed = client.get("/nbia-api/services/v1/getSOPInstanceUIDs", params={"SeriesInstanceUID": "1.2.x"})
    assert malformed.status_code == 400
    assert malformed.json()["details"]["parameter"] == "SeriesInstanceUID"
