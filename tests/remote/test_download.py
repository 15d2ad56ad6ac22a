"""Downloads of remote series over a live server: fetched from the mirror on first request (getImage and
WADO-RS), served byte for byte; without a mirror a 409 that says how to configure one."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.search import SeriesFilter
from ria.idc import import_idc
from tests.api.conftest import LiveServer
from tests.remote.conftest import Chosen, Written

V1 = "/nbia-api/services/v1"


@pytest.fixture
def client(fetcher: Archive) -> Iterator[httpx.Client]:
    with LiveServer(fetcher) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        yield http


def test_get_image_fetches_then_serves_the_mirror_files(
    client: httpx.Client, fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[0]
    files = sorted(mirrored[target.series_uid], key=lambda w: w.number)
    answers: list[httpx.Response] = []

    def download() -> None:
        answers.append(client.get(f"{V1}/getImage", params={"SeriesInstanceUID": target.series_uid}))

    # Concurrent first downloads: one fetch, every request served.
    threads = [threading.Thread(target=download) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text[:300] for a in answers]
    for answer in answers:
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive_zip:
            names = [n for n in archive_zip.namelist() if n != "LICENSE"]
            assert names == [f"{i:08d}.dcm" for i in range(1, len(files) + 1)]
            assert [archive_zip.read(n) for n in names] == [w.path.read_bytes() for w in files]
    row = fetcher.catalog.series(SeriesFilter(series_instance_uid=target.series_uid), principal=OPERATOR)[0]
    assert (row.is_remote, row.image_count) == (False, len(files))
    assert len(fetcher.catalog.instances(target.series_uid, principal=OPERATOR)) == len(files)
    assert fetcher.check().consistent
    # One ingest ran (each writes its report): the others waited and found the series local.
    assert len(list(fetcher.settings.report_dir.iterdir())) == 1


def test_wado_rs_retrieve_fetches_the_series(
    client: httpx.Client, fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[1]
    answer = client.get(
        f"/dicomweb/studies/{target.study_uid}/series/{target.series_uid}",
        headers={"Accept": 'multipart/related; type="application/dicom"'},
    )
    assert answer.status_code == 200, answer.text[:300]
    for written in mirrored[target.series_uid]:
        assert written.path.read_bytes() in answer.content
    assert answer.content.count(b"Content-Type: application/dicom") == len(mirrored[target.series_uid])
    assert not fetcher.catalog.series(
        SeriesFilter(series_instance_uid=target.series_uid), principal=OPERATOR
    )[0].is_remote


def test_study_level_retrieve_fetches_what_the_mirror_holds(
    client: httpx.Client, fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[0]
    answer = client.get(
        f"/dicomweb/studies/{target.study_uid}",
        headers={"Accept": 'multipart/related; type="application/dicom"'},
    )
    assert answer.status_code == 200, answer.text[:300]
    for written in mirrored[target.series_uid]:
        assert written.path.read_bytes() in answer.content
    assert not fetcher.catalog.series(
        SeriesFilter(series_instance_uid=target.series_uid), principal=OPERATOR
    )[0].is_remote


def test_a_remote_series_the_mirror_lacks_gets_409_naming_the_mirror(
    client: httpx.Client, fetcher: Archive, mirrored: dict[str, list[Written]]
) -> None:
    row = next(
        r
        for r in fetcher.catalog.series(SeriesFilter(collection="TCGA-CHOL"), principal=OPERATOR)
        if r.series_instance_uid not in mirrored
    )
    answer = client.get(f"{V1}/getImage", params={"SeriesInstanceUID": row.series_instance_uid})
    assert answer.status_code == 409
    message = answer.json()["message"]
    assert row.source_url and row.source_url in message and "not in the mirror" in message


def test_without_a_mirror_the_409_says_how_to_configure_one(
    archive: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[0]
    with LiveServer(archive) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        answer = http.get(f"{V1}/getImage", params={"SeriesInstanceUID": target.series_uid})
        wado = http.get(f"/dicomweb/studies/{target.study_uid}/series/{target.series_uid}")
    assert answer.status_code == 409 and wado.status_code == 409
    for body in (answer.json(), wado.json()):
        assert "RIA_REMOTE_ROOT" in body["message"] and "--remote-root" in body["message"]
        assert target.source_url in body["message"] and "remote" in body["message"]
        assert body["details"]["source_url"] == target.source_url
    assert archive.catalog.series(SeriesFilter(series_instance_uid=target.series_uid), principal=OPERATOR)[
        0
    ].is_remote


def test_idc_import_alone_is_unchanged(archive: Archive) -> None:
    """No mirror, nothing fetched: an import's remote series keep the index's counts."""
    report = import_idc(archive, ["tcga_chol"])
    assert report.total("series_added") == len(
        archive.catalog.series(SeriesFilter(collection="TCGA-CHOL"), principal=OPERATOR)
    )
    assert archive.check().consistent
