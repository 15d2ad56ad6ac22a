"""DICOMweb over plain HTTP: bit-identical round trips, bad input, scoping, de-identifying collections."""

from __future__ import annotations

import email.parser
import email.policy
import io
import warnings
from pathlib import Path

import httpx
import pydicom
import pytest

from ria.archive import Archive
from ria.sample import find_test_file
from ria.settings import Settings
from tests.api.conftest import LiveServer
from tests.conftest import Corpus

ROOT = "/dicomweb/collections/TCGA-LUAD"
BOUNDARY = "test-boundary-7d1f"
STOW_HEADERS = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'}


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """The operator's own server (``ria serve --local-curators``): STOW from this machine needs no token."""
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, workers=2, batch_size=50, local_curators=True
    )


def _body(parts: list[tuple[str, bytes]], *, close: bool = True) -> bytes:
    out = b""
    for content_type, data in parts:
        out += f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


def _stow(client: httpx.Client, body: bytes, path: str = f"{ROOT}/studies", **headers: str) -> httpx.Response:
    content_type = headers.pop(
        "content_type", f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    )
    return client.post(
        path, content=body, headers={"Content-Type": content_type, "Accept": "application/dicom+json"}
    )


def _parts(response: httpx.Response) -> list[bytes]:
    """The parts of a multipart/related answer, read with the standard library's MIME parser."""
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + response.content)
    return [part.get_payload(decode=True) for part in message.iter_parts()]  # type: ignore[misc]


def _uids(data: bytes) -> tuple[str, str, str]:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def _failures(response: httpx.Response) -> list[int]:
    return [item["00081197"]["Value"][0] for item in response.json().get("00081198", {}).get("Value", [])]


def _stored(response: httpx.Response) -> list[str]:
    return [item["00081155"]["Value"][0] for item in response.json().get("00081199", {}).get("Value", [])]


def test_bytes_stored_come_back_bit_for_bit(client: httpx.Client, corpus: Corpus) -> None:
    originals = [path.read_bytes() for path in corpus.files[:6]]
    response = _stow(client, _body([("application/dicom", data) for data in originals]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/dicom+json")
    for data in originals:
        study, series, sop = _uids(data)
        answer = client.get(f"{ROOT}/studies/{study}/series/{series}/instances/{sop}")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("multipart/related")
        assert _parts(answer) == [data]
        assert client.get(f"/dicomweb/studies/{study}/series/{series}/instances/{sop}").status_code == 200


def test_a_truncated_body_stores_the_complete_parts_only(client: httpx.Client, archive: Archive) -> None:
    ct, mr = find_test_file("CT_small.dcm").read_bytes(), find_test_file("MR_small.dcm").read_bytes()
    body = _body([("application/dicom", ct)], close=False) + f"--{BOUNDARY}\r\n".encode()
    body += b"Content-Type: application/dicom\r\n\r\n" + mr[: len(mr) // 2]
    response = _stow(client, body)
    assert response.status_code == 202, response.text
    assert _stored(response) == [_uids(ct)[2]]
    assert _failures(response) == [0xC000]
    assert archive.catalog.instance_count() == 1
    assert archive.check(verify_hashes=True).consistent
    assert not any((archive.settings.data_dir / "incoming").iterdir())  # nothing half-written is left


def test_bad_parts_fail_alone_and_the_rest_is_stored(client: httpx.Client, archive: Archive) -> None:
    ct = find_test_file("CT_small.dcm").read_bytes()
    parts = [("text/plain", b"hello"), ("application/dicom", b"not DICOM"), ("application/dicom", ct[:-300]),
             ("application/dicom", ct)]  # fmt: skip
    response = _stow(client, _body(parts))
    assert response.status_code == 202
    assert _failures(response) == [0xC000, 0xC000, 0xC000]
    assert _stored(response) == [_uids(ct)[2]]
    assert archive.catalog.instance_count() == 1


def test_nothing_stored_is_409_and_a_changed_duplicate_is_refused(client: httpx.Client) -> None:
    assert _stow(client, _body([("application/dicom", b"junk")])).status_code == 409
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(find_test_file("CT_small.dcm"))
    first = io.BytesIO()
    ds.save_as(first, enforce_file_format=True)
    assert _stow(client, _body([("application/dicom", first.getvalue())])).status_code == 200
    ds.StudyDescription = "edited after the fact"
    second = io.BytesIO()
    ds.save_as(second, enforce_file_format=True)
    response = _stow(client, _body([("application/dicom", second.getvalue())]))
    assert response.status_code == 409
    assert _failures(response) == [0x0111]


def test_an_instance_of_another_study_than_the_url_names_is_refused(client: httpx.Client) -> None:
    ct = find_test_file("CT_small.dcm").read_bytes()
    response = _stow(client, _body([("application/dicom", ct)]), path=f"{ROOT}/studies/1.2.3.4")
    assert response.status_code == 409 and _failures(response) == [0xA900]
    study = _uids(ct)[0]
    assert (
        _stow(client, _body([("application/dicom", ct)]), path=f"{ROOT}/studies/{study}").status_code == 200
    )


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 415),
        ('multipart/related; type="application/dicom+json"; boundary=x', 415),
        ('multipart/related; type="application/dicom"', 400),
    ],
)
def test_wrong_content_types_are_refused_with_a_json_body(
    client: httpx.Client, content_type: str, status: int
) -> None:
    response = _stow(client, b"{}", content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"] and response.json()["message"]


def test_store_at_the_service_root_says_where_to_store(client: httpx.Client) -> None:
    response = _stow(client, _body([("application/dicom", b"x")]), path="/dicomweb/studies")
    assert response.status_code == 400 and "/dicomweb/collections/" in response.json()["message"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("PatientWeight=70", "PatientWeight"),
        ("NotAnAttribute=1", "NotAnAttribute"),
        ("StudyDate=2020-01-01", "StudyDate"),
        ("includefield=Bogus", "includefield"),
        ("limit=-1", "limit"),
        ("fuzzymatching=maybe", "fuzzymatching"),
    ],
)
def test_bad_search_parameters_are_400_naming_them(client: httpx.Client, query: str, parameter: str) -> None:
    response = client.get(f"/dicomweb/studies?{query}")
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == parameter


def test_unknown_things_are_404_and_unservable_types_406(client: httpx.Client, corpus: Corpus) -> None:
    assert client.get("/dicomweb/studies/1.2.3").status_code == 404
    assert client.get("/dicomweb/studies/1.2.3/metadata").status_code == 404
    data = corpus.files[0].read_bytes()
    assert _stow(client, _body([("application/dicom", data)])).status_code == 200
    study, series, sop = _uids(data)
    instance = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"
    assert client.get(instance, headers={"Accept": "application/dicom+xml"}).status_code == 406
    accept = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    assert client.get(instance, headers={"Accept": accept}).status_code == 406
    assert client.get(f"{instance}/frames/999").status_code == 404
    assert client.get(f"{instance}/frames/0").status_code == 400
    assert client.get(f"/dicomweb/collections/TCGA-BRCA/studies/{study}").status_code == 404
    assert client.get("/dicomweb/collections/TCGA-BRCA/studies").json() == []
    assert len(client.get(f"{ROOT}/studies").json()) == 1


def test_a_deidentifying_collection_needs_its_map_then_answers_with_new_uids(
    client: httpx.Client, archive: Archive, tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(find_test_file("CT_small.dcm"))
    ds.PatientID = "MRN-77"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    body = _body([("application/dicom", buffer.getvalue())])
    archive.require_deidentification("TCGA-LUAD", "tcia")
    refused = _stow(client, body)
    assert refused.status_code == 409 and "--id-map" in refused.json()["message"]
    id_map = tmp_path / "map.csv"
    id_map.write_text("source_patient_id,target_patient_id\nMRN-77,TCGA-05-4244\n")
    archive.store_id_map("TCGA-LUAD", id_map)
    response = _stow(client, body)
    assert response.status_code == 202  # stored, with a coercion warning
    (item,) = response.json()["00081199"]["Value"]
    assert item["00081196"]["Value"] == [0xB000]
    new_uid = item["00081155"]["Value"][0]
    assert new_uid != str(ds.SOPInstanceUID)
    back = client.get(item["00081190"]["Value"][0].replace(str(client.base_url).rstrip("/"), ""))
    (stored,) = _parts(back)
    out = pydicom.dcmread(io.BytesIO(stored))
    assert out.PatientID == "TCGA-05-4244" and out.SOPInstanceUID == new_uid
    assert b"MRN-77" not in stored


def test_storing_is_curating_an_admin_token_or_this_machine(client: httpx.Client, archive: Archive) -> None:
    """A signed-in non-administrator is refused even on loopback (they said who they are); an
    administrator's token is accepted; nothing is stored by a refused request."""
    from ria.access.identity import add_user, issue_api_token

    add_user(archive.engine, "reader", actor="test")
    add_user(archive.engine, "curator", admin=True, actor="test")
    reader = issue_api_token(archive.engine, "reader", actor="test")
    curator = issue_api_token(archive.engine, "curator", actor="test")
    body = _body([("application/dicom", find_test_file("CT_small.dcm").read_bytes())])
    refused = client.post(
        f"{ROOT}/studies", content=body, headers={**STOW_HEADERS, "Authorization": f"Bearer {reader}"}
    )
    assert refused.status_code == 403 and "administrator" in refused.json()["message"]
    assert archive.catalog.instance_count() == 0
    stored = client.post(
        f"{ROOT}/studies", content=body, headers={**STOW_HEADERS, "Authorization": f"Bearer {curator}"}
    )
    assert stored.status_code == 200, stored.text
    assert archive.catalog.instance_count() == 1


@pytest.mark.parametrize(
    "forwarded",
    [{"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9;proto=https"}],
)
def test_a_forwarded_request_is_never_a_local_curator(
    client: httpx.Client, archive: Archive, forwarded: dict[str, str]
) -> None:
    """A reverse proxy on this host makes every client look local; a request it says it passed on is
    refused even though the operator let this machine curate."""
    body = _body([("application/dicom", find_test_file("CT_small.dcm").read_bytes())])
    refused = client.post(f"{ROOT}/studies", content=body, headers={**STOW_HEADERS, **forwarded})
    assert refused.status_code == 403 and "administrator" in refused.json()["message"]
    assert archive.catalog.instance_count() == 0
    assert client.post(f"{ROOT}/studies", content=body, headers=STOW_HEADERS).status_code == 200


def test_without_the_setting_this_machine_is_no_curator(tmp_path: Path, database_url: str | None) -> None:
    """``ria serve`` without ``--local-curators``: loopback without a token is refused, nothing stored."""
    plain = Settings(data_dir=tmp_path / "plain", database_url=database_url, workers=1)
    body = _body([("application/dicom", find_test_file("CT_small.dcm").read_bytes())])
    with Archive(plain) as archive, LiveServer(archive) as live, httpx.Client(base_url=live.url) as http:
        refused = http.post(f"{ROOT}/studies", content=body, headers=STOW_HEADERS)
        assert refused.status_code == 403 and "administrator" in refused.json()["message"]
        assert archive.catalog.instance_count() == 0
