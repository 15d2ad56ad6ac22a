"""Rendered images over HTTP: study, series, instance and frame, thumbnails and WADO-URI, on a live server.

Instances are filed through the real ingest path; the expected pictures come from
pydicom's own functions (tests/dicomweb/cases.py), never from Ria's code.
"""

from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from ria.archive import Archive
from ria.dicomweb.wado import StoredInstance
from tests.dicomweb.cases import decoded, expected, file_in, read, reread

ROOT = "/dicomweb/collections/TCGA-LUAD"
PNG = {"Accept": "image/png"}
PNG_PARTS = {"Accept": 'multipart/related; type="image/png"'}


def _url(stored: StoredInstance) -> str:
    return (
        f"{ROOT}/studies/{stored.study_instance_uid}/series/{stored.series_instance_uid}"
        f"/instances/{stored.sop_instance_uid}"
    )


def _png(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return decoded(response.content)


def _parts(response: httpx.Response) -> list[np.ndarray]:
    """A multipart/related answer's PNG parts, parsed by the standard library's MIME parser."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("multipart/related")
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + response.content, policy=email.policy.HTTP)
    parts = list(message.iter_parts())
    assert all(part.get_content_type() == "image/png" for part in parts)
    payloads = [part.get_payload(decode=True) for part in parts]
    assert all(isinstance(payload, bytes) for payload in payloads)
    return [decoded(payload) for payload in payloads if isinstance(payload, bytes)]


def _windowed(center: str, width: str) -> Dataset:
    """CT_small with a header window (soft tissue 40/400), as a site would send it."""
    ds = read("CT_small.dcm")
    ds.WindowCenter, ds.WindowWidth = center, width
    return ds


def _one_series(archive: Archive, folder: Path) -> list[tuple[Dataset, StoredInstance]]:
    """Three real files of different sizes filed as one series (instance numbers 1, 2, 3)."""
    study, series = generate_uid(), generate_uid()
    filed = []
    for number, name in enumerate(("CT_small.dcm", "MR_small.dcm", "emri_small.dcm"), start=1):
        ds = read(name)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study, series, number
        stored = file_in(archive, folder, ds)
        filed.append((reread(archive, stored), stored))
    return filed


def test_an_instance_and_its_frame_are_pydicoms_picture(
    client: httpx.Client, archive: Archive, tmp_path: Path
) -> None:
    stored = file_in(archive, tmp_path, _windowed("40", "400"))
    ds, url = reread(archive, stored), _url(stored)
    picture = _png(client.get(f"{url}/rendered", headers=PNG))
    assert np.array_equal(picture, expected(ds))
    assert np.array_equal(_png(client.get(f"{url}/frames/1/rendered", headers=PNG)), picture)


@pytest.mark.parametrize(
    ("window", "oracle"),
    [
        ("600,1200", ("600", "1200", "LINEAR")),
        ("600,1200,linear", ("600", "1200", "LINEAR")),
        ("600,1200,linear-exact", ("600", "1200", "LINEAR_EXACT")),
        ("600,300,sigmoid", ("600", "300", "SIGMOID")),
    ],
)
def test_an_asked_window_and_its_function(
    client: httpx.Client, archive: Archive, tmp_path: Path, window: str, oracle: tuple[str, str, str]
) -> None:
    stored = file_in(archive, tmp_path, read("MR_small.dcm"))
    picture = _png(client.get(f"{_url(stored)}/rendered", params={"window": window}, headers=PNG))
    assert np.array_equal(picture, expected(reread(archive, stored), 0, oracle))


def test_every_frame_of_a_multiframe_instance_as_multipart(
    client: httpx.Client, archive: Archive, tmp_path: Path
) -> None:
    stored = file_in(archive, tmp_path, read("emri_small_jpeg_2k_lossless.dcm"))
    ds, url = reread(archive, stored), _url(stored)
    frames = _parts(client.get(f"{url}/rendered", headers=PNG_PARTS))
    assert len(frames) == 10
    for index, frame in enumerate(frames):
        assert np.array_equal(frame, expected(ds, index))
    chosen = _parts(client.get(f"{url}/frames/3,8/rendered", headers=PNG_PARTS))
    assert [np.array_equal(a, b) for a, b in zip(chosen, (frames[2], frames[7]), strict=True)] == [True, True]
    assert np.array_equal(_png(client.get(f"{url}/frames/8/rendered", headers=PNG)), frames[7])


def test_series_and_study_rendered_and_thumbnails(
    client: httpx.Client, archive: Archive, tmp_path: Path
) -> None:
    filed = _one_series(archive, tmp_path)
    study_url = f"{ROOT}/studies/{filed[0][1].study_instance_uid}"
    series_url = f"{study_url}/series/{filed[0][1].series_instance_uid}"
    middle = expected(filed[1][0])  # MR_small, 64 x 64: the representative image
    for url in (series_url, study_url):
        assert np.array_equal(_png(client.get(f"{url}/rendered", headers=PNG)), middle)
        thumbnail = Image.open(io.BytesIO(client.get(f"{url}/thumbnail").content))
        assert thumbnail.format == "JPEG" and thumbnail.size == (64, 64)  # already under 128 px
        everything = _parts(client.get(f"{url}/rendered", headers=PNG_PARTS))
        assert len(everything) == 1 + 1 + 10  # every frame of every instance, in instance order
        assert np.array_equal(everything[0], expected(filed[0][0]))
        assert np.array_equal(everything[1], middle)
        assert all(np.array_equal(everything[2 + i], expected(filed[2][0], i)) for i in range(10))
    big = client.get(f"{_url(filed[0][1])}/thumbnail")
    assert max(Image.open(io.BytesIO(big.content)).size) == 128  # CT_small is 128 x 128
    small = client.get(f"{series_url}/thumbnail", params={"viewport": "32,32"})
    assert Image.open(io.BytesIO(small.content)).size == (32, 32)


def test_jpeg_by_default_and_wado_uri(client: httpx.Client, archive: Archive, tmp_path: Path) -> None:
    stored = file_in(archive, tmp_path, _windowed("40", "400"))
    ds, url = reread(archive, stored), _url(stored)
    jpeg = client.get(f"{url}/rendered")
    assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
    assert np.abs(decoded(jpeg.content).astype(int) - expected(ds)).mean() < 3
    params = {"requestType": "WADO", "studyUID": stored.study_instance_uid}
    params |= {"seriesUID": stored.series_instance_uid, "objectUID": stored.sop_instance_uid}
    legacy = client.get("/dicomweb/wado", params={**params, "contentType": "application/dicom"})
    with archive.store.open(stored.blob_key) as stream:
        assert legacy.status_code == 200 and legacy.content == stream.read()
    assert np.array_equal(
        _png(client.get("/dicomweb/wado", params={**params, "contentType": "image/png"})), expected(ds)
    )
    windowed = client.get(
        "/dicomweb/wado",
        params={**params, "contentType": "image/png", "windowCenter": "0", "windowWidth": "100"},
    )
    assert np.array_equal(_png(windowed), expected(ds, 0, ("0", "100", "LINEAR")))


@pytest.mark.parametrize(
    ("suffix", "params", "headers", "status"),
    [
        ("/rendered", {"window": "40"}, {}, 400),
        ("/rendered", {"window": "40,0"}, {}, 400),
        ("/rendered", {"window": "40,0,sigmoid"}, {}, 400),
        ("/rendered", {"window": "40,400,cubic"}, {}, 400),
        ("/rendered", {"window": "40,nan"}, {}, 400),
        ("/rendered", {"window": "inf,400"}, {}, 400),
        ("/rendered", {"window": "40,inf"}, {}, 400),
        ("/rendered", {"viewport": "big"}, {}, 400),
        ("/rendered", {"quality": "0"}, {}, 400),
        ("/rendered", {}, {"Accept": "image/gif"}, 406),
        ("/rendered", {}, {"Accept": 'multipart/related; type="image/gif"'}, 406),
        ("/frames/2/rendered", {}, {}, 404),
        ("/frames/1,2/rendered", {}, {}, 400),
        ("/frames/1,2/rendered", {}, PNG_PARTS, 404),
    ],
)
def test_bad_render_requests_are_4xx_with_json(
    client: httpx.Client,
    archive: Archive,
    tmp_path: Path,
    suffix: str,
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> None:
    stored = file_in(archive, tmp_path, read("CT_small.dcm"))
    response = client.get(f"{_url(stored)}{suffix}", params=params, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"]


def test_paths_with_nothing_to_render_are_404(client: httpx.Client, archive: Archive, tmp_path: Path) -> None:
    ds = read("CT_small.dcm")
    del ds.PixelData
    stored = file_in(archive, tmp_path, ds)
    study_url = f"{ROOT}/studies/{stored.study_instance_uid}"
    for url in (f"{study_url}/rendered", f"{study_url}/thumbnail", f"{_url(stored)}/rendered"):
        response = client.get(url)
        assert response.status_code == 404 and "pixel data" in response.json()["message"]
    assert client.get(f"{study_url}/rendered", headers=PNG_PARTS).status_code == 404
    assert client.get(f"{ROOT}/studies/1.2.3/rendered").status_code == 404


def test_wado_uri_needs_its_parameters(client: httpx.Client) -> None:
    assert client.get("/dicomweb/wado", params={"studyUID": "1"}).status_code == 400
    missing = client.get("/dicomweb/wado", params={"requestType": "WADO", "studyUID": "1", "seriesUID": "2"})
    assert missing.status_code == 400 and missing.json()["details"]["parameter"] == "objectUID"
    unknown = {"requestType": "WADO", "studyUID": "1", "seriesUID": "2", "objectUID": "3"}
    assert client.get("/dicomweb/wado", params=unknown).status_code == 404


def test_the_description_declares_the_pictures(client: httpx.Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        f"{ROOT.replace('TCGA-LUAD', '{collection}')}/studies/{{study}}/rendered",
        "/dicomweb/studies/{study}/series/{series}/rendered",
    ):
        responses = paths[path]["get"]["responses"]
        assert set(responses["200"]["content"]) == {"image/jpeg", "image/png", "multipart/related"}
        assert {"400", "404", "406", "409"} <= set(responses)
    thumbnail = paths["/dicomweb/studies/{study}/thumbnail"]["get"]["responses"]
    assert set(thumbnail["200"]["content"]) == {"image/jpeg", "image/png"}
