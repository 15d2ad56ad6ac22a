"""Remote series over a live server. TCIA's routes list what the server can deliver: remote series only
when a mirror of their buckets is mounted (``remote_root``), since a TCIA client cannot tell a remote row
from a local one and would fail to download it. Ria's own API and DICOMweb list them always; downloads say
where they live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from ria.archive import Archive
from ria.idc import import_idc
from ria.settings import Settings
from tests.api.conftest import LiveServer
from tests.conftest import Corpus

V1 = "/nbia-api/services/v1"
V4 = "/nbia-api/services/v4"


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[httpx.Client]:
    """A server whose remote series can be delivered: a (here empty) mirror of IDC's buckets is mounted."""
    (tmp_path / "mirror").mkdir()
    mirrored = settings.with_overrides(remote_root=tmp_path / "mirror")
    with Archive(mirrored) as archive:
        import_idc(archive, ["TCGA-CHOL", "tcga_dlbc"])
        with LiveServer(archive) as live, httpx.Client(base_url=live.url, timeout=30) as http:
            yield http


@pytest.fixture
def unmirrored(archive: Archive, corpus: Corpus) -> Iterator[httpx.Client]:
    """No mirror: IDC's TCGA-CHOL as remote series next to real local files in TCGA-LUAD."""
    import_idc(archive, ["TCGA-CHOL"])
    archive.ingest([corpus.root], "TCGA-LUAD", workers=1)
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


def test_without_a_mirror_tcia_routes_list_only_what_can_be_downloaded(
    unmirrored: httpx.Client, corpus: Corpus, idc: duckdb.DuckDBPyConnection
) -> None:
    client = unmirrored
    listed = client.get(f"{V1}/getSeries")
    assert listed.status_code == 200, listed.text
    assert {row["SeriesInstanceUID"] for row in listed.json()} == corpus.series_uids
    assert [r["Collection"] for r in client.get(f"{V1}/getCollectionValues").json()] == ["TCGA-LUAD"]
    counts = client.get(f"{V4}/getCollectionValuesAndCounts").json()
    assert [(r["Collection"], r["Count"]) for r in counts] == [("TCGA-LUAD", len(corpus.patients))]
    for path in ("getSeries", "getPatient", "getPatientStudy", "getModalityValues"):
        empty = client.get(f"{V4}/{path}", params={"Collection": "TCGA-CHOL"})
        assert (empty.status_code, empty.content) == (200, b""), path  # TCIA's empty answer
    search = client.post(
        f"{V4}/getSimpleSearch", data={"criteriaType0": "CollectionCriteria", "value0": "TCGA-CHOL"}
    )
    assert search.status_code == 200, search.text
    assert search.json()["totalPatients"] == 0
    every = client.get(f"{V1}/getSeries").json()
    for row in every:  # every listed series downloads
        assert client.get(f"{V1}/getImage", params={"SeriesInstanceUID": row["SeriesInstanceUID"]}).is_success


def test_without_a_mirror_ria_api_still_lists_remote_series(
    unmirrored: httpx.Client, idc: duckdb.DuckDBPyConnection
) -> None:
    (series,) = idc.execute("SELECT count(*) FROM idc WHERE collection_id = 'tcga_chol'").fetchone() or (0,)
    rows = {r["name"]: r for r in unmirrored.get("/api/v1/collections").json()}
    assert rows["TCGA-CHOL"]["series"] == series
    asked = unmirrored.post(
        "/api/v1/cohorts/query", params={"format": "csv"}, json={"collection": ["TCGA-CHOL"]}
    )
    assert asked.status_code == 200, asked.text
    lines = asked.text.splitlines()
    assert len(lines) == series + 1 and all(",True," in line for line in lines[1:])
