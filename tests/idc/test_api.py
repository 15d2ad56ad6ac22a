"""Remote series over a live server: TCIA queries list them like local ones; downloads say where they live."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import httpx
import pytest

from ria.archive import Archive
from ria.idc import import_idc
from tests.api.conftest import LiveServer

V1 = "/nbia-api/services/v1"
V4 = "/nbia-api/services/v4"


@pytest.fixture
def client(archive: Archive) -> Iterator[httpx.Client]:
    import_idc(archive, ["TCGA-CHOL", "tcga_dlbc"])
    with LiveServer(archive) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        yield http


def test_get_series_lists_remote_series_with_their_counts(
    client: httpx.Client, idc: duckdb.DuckDBPyConnection
) -> None:
    expected = {
        uid: (count, size, modality, patient_id)
        for uid, count, size, modality, patient_id in idc.execute(
            "SELECT SeriesInstanceUID, instanceCount, CAST(round(series_size_MB * 1e6) AS BIGINT), Modality, "
            "PatientID FROM idc WHERE collection_id = 'tcga_chol'"
        ).fetchall()
    }
    response = client.get(f"{V4}/getSeries", params={"Collection": "TCGA-CHOL"})
    assert response.status_code == 200, response.text
    rows = response.json()
    assert {row["SeriesInstanceUID"]: row["ImageCount"] for row in rows} == {
        uid: value[0] for uid, value in expected.items()
    }
    for row in rows:
        _, size, modality, patient_id = expected[row["SeriesInstanceUID"]]
        assert (row["FileSize"], row["Modality"], row["PatientID"], row["Collection"]) == (
            size,
            modality,
            patient_id,
            "TCGA-CHOL",
        )
        assert row["LicenseURI"] == "https://creativecommons.org/licenses/by/3.0/"


def test_patients_and_collections_include_remote_ones(
    client: httpx.Client, idc: duckdb.DuckDBPyConnection
) -> None:
    patients = {
        r[0]
        for r in idc.execute(
            "SELECT DISTINCT PatientID FROM idc WHERE collection_id = 'tcga_dlbc'"
        ).fetchall()
    }
    response = client.get(f"{V1}/getPatient", params={"Collection": "TCGA-DLBC"})
    assert response.status_code == 200, response.text
    assert {row["PatientId"] for row in response.json()} == patients
    names = {row["Collection"] for row in client.get(f"{V1}/getCollectionValues").json()}
    assert names == {"TCGA-CHOL", "TCGA-DLBC"}


def test_downloading_a_remote_series_says_where_it_lives(
    client: httpx.Client, idc: duckdb.DuckDBPyConnection
) -> None:
    uid, study_uid, url = idc.execute(
        "SELECT SeriesInstanceUID, StudyInstanceUID, series_aws_url FROM idc "
        "WHERE collection_id = 'tcga_chol' ORDER BY SeriesInstanceUID LIMIT 1"
    ).fetchone() or ("", "", "")
    response = client.get(f"{V1}/getImage", params={"SeriesInstanceUID": uid})
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict" and url in body["message"] and "remote" in body["message"]
    assert body["details"]["source_url"] == url

    wado = client.get(f"/dicomweb/studies/{study_uid}/series/{uid}")
    assert wado.status_code == 409, wado.text
    assert url in wado.json()["message"]
    study = client.get(f"/dicomweb/studies/{study_uid}")
    assert study.status_code == 409, study.text
    assert "remote" in study.json()["message"]
    assert client.get(f"/dicomweb/studies/{study_uid}/series/1.2.3.4").status_code == 404


def test_qido_rs_finds_remote_series_with_their_counts(
    client: httpx.Client, idc: duckdb.DuckDBPyConnection
) -> None:
    study_uid, n_series = idc.execute(
        "SELECT StudyInstanceUID, count(*) FROM idc WHERE collection_id = 'tcga_dlbc' "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone() or ("", 0)
    counts = dict(
        idc.execute(
            "SELECT SeriesInstanceUID, instanceCount FROM idc WHERE StudyInstanceUID = ?", [study_uid]
        ).fetchall()
    )
    response = client.get(f"/dicomweb/studies/{study_uid}/series")
    assert response.status_code == 200, response.text
    found = {row["0020000E"]["Value"][0]: row["00201209"]["Value"][0] for row in response.json()}
    assert found == counts and len(found) == n_series
