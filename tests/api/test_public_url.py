"""Links in answers reach the server: real clients follow RetrieveURL and BulkDataURI as given.

dicomweb-client sends ``Host`` without the port; a reverse proxy knows the public address; the
operator may name it. Each case is checked by following the link, or by comparing it with the
address the test itself chose.
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient

from ria.access import OPERATOR
from ria.access.identity import add_user, issue_api_token
from ria.archive import Archive
from ria.sample import find_test_file
from ria.settings import Settings
from tests.api.conftest import LiveServer

COLLECTION = "TCGA-LUAD"


def _archive(
    tmp_path: Path, database_url: str | None = None, **settings: object
) -> tuple[Archive, pydicom.Dataset]:
    archive = Archive(Settings(data_dir=tmp_path / "data", database_url=database_url, **settings))  # type: ignore[arg-type]
    path = find_test_file("CT_small.dcm")
    archive.ingest([path], COLLECTION)
    return archive, pydicom.dcmread(path)


def _raw_get(port: int, target: str, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 GET with exactly these headers (httpx would add the port to Host)."""
    lines = [
        f"GET {target} HTTP/1.1",
        *(f"{k}: {v}" for k, v in headers.items()),
        "Connection: close",
        "",
        "",
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall("\r\n".join(lines).encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_bulkdata_links_reach_the_server_when_host_has_no_port(
    tmp_path: Path, database_url: str | None
) -> None:
    archive, ds = _archive(tmp_path, database_url)
    with archive, LiveServer(archive) as live:
        target = f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/metadata"
        answer = _raw_get(live.port, target, {"Host": "127.0.0.1", "Accept": "application/dicom+json"})
        assert f"http://127.0.0.1:{live.port}/dicomweb/studies/".encode() in answer
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client = DICOMwebClient(url=f"{live.url}/dicomweb")
        (metadata,) = client.retrieve_series_metadata(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
        uri = metadata["7FE00010"]["BulkDataURI"]
        assert uri.startswith(f"{live.url}/dicomweb/")
        (pixels,) = client.retrieve_bulkdata(uri, media_types=("application/octet-stream",))
        assert pixels == ds.PixelData


def test_the_operators_public_url_starts_every_link(tmp_path: Path) -> None:
    archive, ds = _archive(tmp_path, public_url="https://ria.example.org/archive/")
    with archive, LiveServer(archive) as live, httpx.Client(base_url=live.url) as http:
        (study,) = http.get("/dicomweb/studies").json()
        assert study["00081190"]["Value"] == [
            f"https://ria.example.org/archive/dicomweb/studies/{ds.StudyInstanceUID}"
        ]
        form = {"criteriaType0": "CollectionCriteria", "value0": COLLECTION}
        manifest = http.post("/nbia-api/services/v4/getManifestForSimpleSearch", data=form)
        assert manifest.status_code == 200, manifest.text
        assert (
            "downloadServerUrl=https://ria.example.org/archive/nbia-api/services/v4/getImage" in manifest.text
        )


FORWARDED = [
    ({"Forwarded": "for=203.0.113.9;host=ria.example.org;proto=https"}, "https://ria.example.org"),
    (
        {"Forwarded": 'for="[2001:db8::1]:4711";host="ria.example.org:8443";proto=https'},
        "https://ria.example.org:8443",
    ),
    (
        {
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Host": "ria.example.org",
            "X-Forwarded-Proto": "https",
        },
        "https://ria.example.org",
    ),
    (
        {
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Host": "ria.example.org",
            "X-Forwarded-Port": "8443",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Prefix": "/pacs/",
        },
        "https://ria.example.org:8443/pacs",
    ),
]


@pytest.mark.parametrize(("headers", "public"), FORWARDED)
def test_a_trusted_proxy_says_where_the_client_was(
    tmp_path: Path, headers: dict[str, str], public: str
) -> None:
    archive, ds = _archive(tmp_path, trusted_proxies=("127.0.0.0/8",))
    with archive, LiveServer(archive) as live, httpx.Client(base_url=live.url) as http:
        (study,) = http.get("/dicomweb/studies", headers=headers).json()
        assert study["00081190"]["Value"] == [f"{public}/dicomweb/studies/{ds.StudyInstanceUID}"]


@pytest.mark.parametrize(("headers", "public"), FORWARDED)
def test_anyone_elses_forwarded_headers_are_ignored(
    tmp_path: Path, headers: dict[str, str], public: str
) -> None:
    for trusted in ((), ("10.0.0.0/8",)):
        archive, ds = _archive(tmp_path / str(len(trusted)), trusted_proxies=trusted)
        with archive, LiveServer(archive) as live, httpx.Client(base_url=live.url) as http:
            (study,) = http.get("/dicomweb/studies", headers=headers).json()
            assert study["00081190"]["Value"] == [f"{live.url}/dicomweb/studies/{ds.StudyInstanceUID}"]


def test_a_chain_of_trusted_proxies_reports_the_first_one(tmp_path: Path) -> None:
    """The client reached proxy A (public); A forwarded to proxy B (10.0.0.2, trusted); B to Ria."""
    archive, ds = _archive(tmp_path, trusted_proxies=("127.0.0.1", "10.0.0.2"))
    chain = "for=203.0.113.9;host=ria.example.org;proto=https, for=10.0.0.2;host=internal:8000;proto=http"
    with archive, LiveServer(archive) as live, httpx.Client(base_url=live.url) as http:
        (study,) = http.get("/dicomweb/studies", headers={"Forwarded": chain}).json()
        assert study["00081190"]["Value"] == [
            f"https://ria.example.org/dicomweb/studies/{ds.StudyInstanceUID}"
        ]


def test_stow_to_the_service_root_files_into_the_configured_collection(
    tmp_path: Path, database_url: str | None
) -> None:
    """dicomweb-client's store_instances against the plain base URL, with ``--stow-collection``."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, stow_collection="TCGA-GBM")
    datasets = [pydicom.dcmread(find_test_file(name)) for name in ("CT_small.dcm", "MR_small.dcm")]
    with Archive(settings) as archive, LiveServer(archive) as live:
        add_user(archive.engine, "curator", admin=True, actor="test")
        token = issue_api_token(archive.engine, "curator", actor="test")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client = DICOMwebClient(url=f"{live.url}/dicomweb", headers={"Authorization": f"Bearer {token}"})
        answer = client.store_instances(datasets)
        assert len(answer.ReferencedSOPSequence) == 2 and "FailedSOPSequence" not in answer
        assert archive.catalog.collection_names(principal=OPERATOR) == ["TCGA-GBM"]
        found = client.search_for_instances()
        assert {i["00080018"]["Value"][0] for i in found} == {str(ds.SOPInstanceUID) for ds in datasets}
