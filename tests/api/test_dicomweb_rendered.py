"""Rendered frames and WADO-URI: the picture a client decodes with Pillow is the one pydicom's pixels give.

The expected picture is computed here from pydicom's decoded pixel array with
the linear VOI function written out from PS3.3 C.11.2.1.2.1 — not with Ria's code.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from PIL import Image

from ria.sample import find_test_file

ROOT = "/dicomweb/collections/TCGA-LUAD"
BOUNDARY = "render-test"


def _with_window(center: str, width: str) -> bytes:
    """CT_small with a header window (a real CT window: soft tissue 40/400), as a site would send it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(find_test_file("CT_small.dcm"))
    ds.WindowCenter, ds.WindowWidth = center, width
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _store(client: httpx.Client, source: Path | bytes) -> tuple[pydicom.Dataset, str]:
    data = source if isinstance(source, bytes) else source.read_bytes()
    body = (
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + data
        + f"\r\n--{BOUNDARY}--".encode()
    )
    content_type = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    assert (
        client.post(f"{ROOT}/studies", content=body, headers={"Content-Type": content_type}).status_code
        == 200
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data))
    url = f"{ROOT}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    return ds, url


def _expected(ds: pydicom.Dataset, center: float, width: float, frame: int = 0) -> np.ndarray:
    pixels = ds.pixel_array
    pixels = pixels[frame] if int(ds.get("NumberOfFrames", 1) or 1) > 1 else pixels
    values = pixels.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(
        ds.get("RescaleIntercept", 0)
    )
    out = np.empty(values.shape)
    for index, x in np.ndenumerate(values):
        if x <= center - 0.5 - (width - 1) / 2:
            out[index] = 0
        elif x > center - 0.5 + (width - 1) / 2:
            out[index] = 255
        else:
            out[index] = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255
    return np.rint(out).astype(np.uint8)


def _png(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_a_rendered_ct_frame_is_the_header_window_of_pydicoms_pixels(client: httpx.Client) -> None:
    ds, url = _store(client, _with_window("40", "400"))
    picture = _png(client.get(f"{url}/rendered", headers={"Accept": "image/png"}))
    assert picture.shape == (ds.Rows, ds.Columns)
    assert np.array_equal(picture, _expected(ds, 40, 400))
    same = _png(client.get(f"{url}/frames/1/rendered", headers={"Accept": "image/png"}))
    assert np.array_equal(same, picture)


def test_without_a_header_window_the_frames_own_range_is_used(client: httpx.Client) -> None:
    ds, url = _store(client, find_test_file("CT_small.dcm"))
    assert "WindowCenter" not in ds
    values = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    low, high = values.min(), values.max()
    picture = _png(client.get(f"{url}/rendered", headers={"Accept": "image/png"}))
    assert picture[values == low].max() == 0 and picture[values == high].min() == 255
    width = high - low + 1
    assert np.array_equal(picture, _expected(ds, low + 0.5 + (width - 1) / 2, width))


def test_an_asked_window_and_viewport_are_applied(client: httpx.Client) -> None:
    ds, url = _store(client, find_test_file("MR_small.dcm"))
    picture = _png(
        client.get(f"{url}/rendered", params={"window": "600,1200,linear"}, headers={"Accept": "image/png"})
    )
    assert np.array_equal(picture, _expected(ds, 600, 1200))
    small = _png(client.get(f"{url}/rendered", params={"viewport": "32,32"}, headers={"Accept": "image/png"}))
    assert max(small.shape) == 32


def test_jpeg_by_default_thumbnails_and_wado_uri(client: httpx.Client) -> None:
    source = _with_window("40", "400")
    ds, url = _store(client, source)
    jpeg = client.get(f"{url}/rendered")
    assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg.content)).size == (ds.Columns, ds.Rows)
    thumb = client.get(f"{url}/thumbnail")
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 128
    series_url = url.rsplit("/instances/", 1)[0]
    assert client.get(f"{series_url}/thumbnail").status_code == 200
    params = {"requestType": "WADO", "studyUID": str(ds.StudyInstanceUID)}
    params |= {"seriesUID": str(ds.SeriesInstanceUID), "objectUID": str(ds.SOPInstanceUID)}
    legacy = client.get("/dicomweb/wado", params={**params, "contentType": "application/dicom"})
    assert legacy.status_code == 200 and legacy.content == source
    picture = _png(client.get("/dicomweb/wado", params={**params, "contentType": "image/png"}))
    assert np.array_equal(picture, _expected(ds, 40, 400))
    windowed = client.get(
        "/dicomweb/wado",
        params={**params, "contentType": "image/png", "windowCenter": "0", "windowWidth": "100"},
    )
    assert np.array_equal(_png(windowed), _expected(ds, 0, 100))


@pytest.mark.parametrize(
    ("suffix", "params", "headers", "status"),
    [
        ("/rendered", {"window": "40"}, {}, 400),
        ("/rendered", {"window": "40,0"}, {}, 400),
        ("/rendered", {"window": "40,nan"}, {}, 400),
        ("/rendered", {"window": "inf,400"}, {}, 400),
        ("/rendered", {"window": "40,inf"}, {}, 400),
        ("/rendered", {"viewport": "big"}, {}, 400),
        ("/rendered", {"quality": "0"}, {}, 400),
        ("/rendered", {}, {"Accept": "image/gif"}, 406),
        ("/frames/2/rendered", {}, {}, 404),
        ("/frames/1,2/rendered", {}, {}, 400),
    ],
)
def test_bad_render_requests_are_4xx_with_json(
    client: httpx.Client, suffix: str, params: dict[str, str], headers: dict[str, str], status: int
) -> None:
    _ds, url = _store(client, find_test_file("CT_small.dcm"))
    response = client.get(f"{url}{suffix}", params=params, headers=headers)
    assert response.status_code == status
    assert response.json()["message"]


def test_wado_uri_needs_its_parameters(client: httpx.Client) -> None:
    assert client.get("/dicomweb/wado", params={"studyUID": "1"}).status_code == 400
    missing = client.get("/dicomweb/wado", params={"requestType": "WADO", "studyUID": "1", "seriesUID": "2"})
    assert missing.status_code == 400 and missing.json()["details"]["parameter"] == "objectUID"
    unknown = {"requestType": "WADO", "studyUID": "1", "seriesUID": "2", "objectUID": "3"}
    assert client.get("/dicomweb/wado", params=unknown).status_code == 404
