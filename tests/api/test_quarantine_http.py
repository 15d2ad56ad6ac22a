"""Held instances are never served: over a live server no answer shows them until a curator releases them.

"Never served" is checked the way a client would notice a leak: every listing,
count, value list and download, and the error answers too — asking for a held
instance by its UIDs must look exactly like asking for one that never existed.
Expectations come from pydicom reads of the files (tests.api.truth).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydicom.uid import generate_uid

from ria.archive import Archive
from tests.api.truth import SeriesTruth, read_series
from tests.conftest import Corpus
from tests.ingestion.held import HeldFile, HoldBurnedIn, burned_in_copy, burned_in_ct

V1 = "/nbia-api/services/v1"
V4 = "/nbia-api/services/v4"
LUAD = "TCGA-LUAD"
HELD_ONLY = "TCGA-HELD"  # a collection whose only instance is held


class Setup:
    def __init__(self, archive: Archive, corpus: Corpus, tmp_path: Path) -> None:
        luad = sorted((corpus.root / LUAD).rglob("*.dcm"))
        archive.ingest(luad, LUAD)
        self.truth: dict[str, SeriesTruth] = read_series({LUAD: luad})
        self.same_series = burned_in_copy(luad[0], tmp_path / "held" / "same-series.dcm")
        self.own_series = burned_in_ct(tmp_path / "held" / "own-series.dcm", patient_id="TCGA-HL-0007")
        transform = HoldBurnedIn()
        assert archive.ingest([self.same_series.path], LUAD, deidentify=transform).quarantined == 1
        assert archive.ingest([self.own_series.path], HELD_ONLY, deidentify=transform).quarantined == 1
        self.host = self.truth[self.same_series.series_uid]  # the served series a held instance belongs to


@pytest.fixture
def setup(archive: Archive, corpus: Corpus, tmp_path: Path) -> Setup:
    return Setup(archive, corpus, tmp_path)


def _held_uids(setup: Setup) -> list[str]:
    return [setup.same_series.sop_uid, setup.own_series.sop_uid, setup.own_series.series_uid]


def _answers(client: httpx.Client, setup: Setup) -> Iterator[tuple[str, httpx.Response]]:
    """Every listing and count a client can ask for, in both versions."""
    host = setup.host.uid
    for base in (V1, V4):
        for path, params in (
            ("getCollectionValues", {}),
            ("getCollectionValuesAndCounts", {}),
            ("getModalityValues", {}),
            ("getBodyPartValues", {}),
            ("getManufacturerValues", {}),
            ("getPatient", {}),
            ("getPatientStudy", {"Collection": LUAD}),
            ("getSeries", {}),
            ("getSeries", {"Collection": HELD_ONLY}),
            ("getPatient", {"Collection": HELD_ONLY}),
            ("getModalityValues", {"Collection": HELD_ONLY}),
            ("getSOPInstanceUIDs", {"SeriesInstanceUID": host}),
            ("getSeriesSize", {"SeriesInstanceUID": host}),
        ):
            if base == V1 and path == "getCollectionValuesAndCounts":
                continue
            yield f"{base}/{path}", client.get(f"{base}/{path}", params=params)
    yield "/api/v1/collections", client.get("/api/v1/collections")
    yield "manifest", client.get("/api/v1/manifest", params={"collection": LUAD, "format": "csv"})


def test_held_instances_are_in_no_listing_count_or_value_list(client: httpx.Client, setup: Setup) -> None:
    for name, response in _answers(client, setup):
        assert response.status_code == 200, name
        for uid in _held_uids(setup):
            assert uid not in response.text, name
        assert HELD_ONLY not in response.text and setup.own_series.patient_id not in response.text, name
        assert "quarantin" not in response.text.lower(), name

    assert client.get(f"{V1}/getCollectionValues").json() == [{"Collection": LUAD}]
    assert client.get(f"{V4}/getSeries", params={"Collection": HELD_ONLY}).content == b""
    rows = client.get(f"{V4}/getSeries", params={"Collection": LUAD}).json()
    assert {row["SeriesInstanceUID"] for row in rows} == set(setup.truth)
    host = next(row for row in rows if row["SeriesInstanceUID"] == setup.host.uid)
    assert (host["ImageCount"], host["FileSize"]) == (len(setup.host.files), setup.host.size)
    sops = client.get(f"{V4}/getSOPInstanceUIDs", params={"SeriesInstanceUID": setup.host.uid}).json()
    assert {row["SOPInstanceUID"] for row in sops} == set(setup.host.sops)
    size = client.get(f"{V1}/getSeriesSize", params={"SeriesInstanceUID": setup.host.uid}).json()
    assert size == [{"TotalSizeInBytes": setup.host.size, "ObjectCount": len(setup.host.files)}]
    [stats] = client.get("/api/v1/collections").json()
    assert (stats["name"], stats["instances"], stats["bytes"]) == (
        LUAD,
        sum(len(s.files) for s in setup.truth.values()),
        sum(s.size for s in setup.truth.values()),
    )


def _requests_for(held: HeldFile, series_uid: str) -> list[tuple[str, dict[str, str]]]:
    """Requests naming an instance and its series by UID, for downloads and lookups."""
    return [
        (f"{V4}/getSingleImage", {"SeriesInstanceUID": series_uid, "SOPInstanceUID": held.sop_uid}),
        (f"{V1}/getSingleImage", {"SeriesInstanceUID": series_uid, "SOPInstanceUID": held.sop_uid}),
        (f"{V4}/getMD5HashForImage", {"SOPInstanceUID": held.sop_uid}),
        (f"{V4}/getImage", {"SeriesInstanceUID": held.series_uid}),
        (f"{V1}/getSeriesSize", {"SeriesInstanceUID": held.series_uid}),
        (f"{V4}/getDicomTags", {"SeriesUID": held.series_uid}),
    ]


def test_asking_for_a_held_instance_looks_like_asking_for_nothing(client: httpx.Client, setup: Setup) -> None:
    """Status and body are those for UIDs that never existed: an error message reveals nothing."""
    held = setup.own_series
    never = HeldFile(held.path, generate_uid(), generate_uid(), generate_uid(), "", 0, "", "", 0)
    for (path, params), (_, unknown_params) in zip(
        _requests_for(held, held.series_uid), _requests_for(never, never.series_uid), strict=True
    ):
        answer = client.get(path, params=params)
        unknown = client.get(path, params=unknown_params)
        assert answer.status_code == unknown.status_code, path
        expected = unknown.text.replace(never.sop_uid, held.sop_uid).replace(
            never.series_uid, held.series_uid
        )
        assert answer.text == expected, path
        if path.endswith(("getSingleImage", "getImage", "getSeriesSize", "getDicomTags")):
            assert answer.status_code == 404, path
    # A held instance inside a served series: the series is served, the instance is not.
    inside = client.get(
        f"{V4}/getSingleImage",
        params={"SeriesInstanceUID": setup.host.uid, "SOPInstanceUID": setup.same_series.sop_uid},
    )
    assert inside.status_code == 404 and "quarantin" not in inside.text.lower()
    archive_zip = client.get(f"{V4}/getImage", params={"SeriesInstanceUID": setup.host.uid})
    with zipfile.ZipFile(io.BytesIO(archive_zip.content)) as zf:
        members = [zf.read(name) for name in zf.namelist() if name.endswith(".dcm")]
    assert len(members) == len(setup.host.files)
    assert setup.same_series.data not in members


def test_released_instances_are_served_with_their_counts(
    archive: Archive, client: httpx.Client, setup: Setup
) -> None:
    results = archive.quarantine.release(h.id for h in archive.quarantine.list())
    assert all(r.released for r in results) and len(results) == 2

    assert client.get(f"{V1}/getCollectionValues").json() == [{"Collection": HELD_ONLY}, {"Collection": LUAD}]
    rows = client.get(f"{V4}/getSeries", params={"Collection": LUAD}).json()
    host = next(row for row in rows if row["SeriesInstanceUID"] == setup.host.uid)
    assert (host["ImageCount"], host["FileSize"]) == (
        len(setup.host.files) + 1,
        setup.host.size + setup.same_series.size,
    )
    sops = client.get(f"{V4}/getSOPInstanceUIDs", params={"SeriesInstanceUID": setup.host.uid}).json()
    assert {row["SOPInstanceUID"] for row in sops} == set(setup.host.sops) | {setup.same_series.sop_uid}
    single = client.get(
        f"{V4}/getSingleImage",
        params={"SeriesInstanceUID": setup.host.uid, "SOPInstanceUID": setup.same_series.sop_uid},
    )
    assert single.status_code == 200 and single.content == setup.same_series.data

    [held_only] = client.get(f"{V4}/getSeries", params={"Collection": HELD_ONLY}).json()
    assert held_only["SeriesInstanceUID"] == setup.own_series.series_uid
    assert (held_only["PatientID"], held_only["ImageCount"]) == (setup.own_series.patient_id, 1)
    download = client.get(f"{V4}/getImage", params={"SeriesInstanceUID": setup.own_series.series_uid})
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        members = [zf.read(name) for name in zf.namelist() if name.endswith(".dcm")]
    assert members == [setup.own_series.data]
