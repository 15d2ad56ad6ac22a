"""TCIA downloads over a live server and real ingested files: getImage, getImageWithMD5Hash, getSingleImage.

Every expectation is computed from the source files themselves — pydicom reads
of SOPInstanceUID, InstanceNumber and AcquisitionNumber, ``hashlib`` digests of
their bytes — never taken from a server answer. ZIPs are checked by two
independent readers (Python's ``zipfile`` and Info-ZIP's ``unzip -t``).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import os
import subprocess
import time
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pydicom
import pydicom.data
import pytest
from pydicom.uid import generate_uid

from ria.archive import Archive
from tests.conftest import Corpus
from tests.live import PeakRss

V1 = "/nbia-api/services/v1"
V4 = "/nbia-api/services/v4"
VERSIONS = pytest.mark.parametrize("base", [V1, V4], ids=["v1", "v4"])
LUAD = "TCGA-LUAD"
UNZIP = "/usr/bin/unzip"
MB = 1 << 20


@dataclass(frozen=True)
class Source:
    """One source file as pydicom and hashlib see it."""

    path: Path
    series_uid: str
    sop_uid: str
    instance_number: int | None
    acquisition_number: int | None
    data_md5: str
    size: int


def _int(value: object) -> int | None:
    return None if value is None or str(value).strip() == "" else int(str(value))


def _read_source(path: Path) -> Source:
    data = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return Source(
        path=path,
        series_uid=str(ds.SeriesInstanceUID),
        sop_uid=str(ds.SOPInstanceUID),
        instance_number=_int(ds.get("InstanceNumber")),
        acquisition_number=_int(ds.get("AcquisitionNumber")),
        data_md5=hashlib.md5(data).hexdigest(),
        size=len(data),
    )


def _by_series(paths: Sequence[Path]) -> dict[str, list[Source]]:
    """Series UID → its files in InstanceNumber order (TCIA's download order)."""
    series: dict[str, list[Source]] = {}
    for path in paths:
        source = _read_source(path)
        series.setdefault(source.series_uid, []).append(source)
    for files in series.values():
        files.sort(key=lambda s: (s.instance_number is not None, s.instance_number or 0))
    return series


def _sop_of(data: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)


def tcia_new_file_names(files: Sequence[Source]) -> list[str]:
    """``NewFileNames=Yes`` names, re-derived from TCIA's ``ImageDAO2Impl.setNewFileNames``.

    ``files`` are in TCIA's order (``ImageDTO2.compareTo`` sorts by InstanceNumber).
    A new *run* starts whenever the AcquisitionNumber changes from one file to the
    next; the instance part counts files within the run. Both parts are zero-padded
    to the digits of their series-wide count: the number of runs, and the number of
    InstanceNumber changes (+1) over the whole series.
    """
    if not files:
        return []
    first = files[0]
    acquisition = first.acquisition_number if first.acquisition_number is not None else 0
    instance = first.instance_number if first.instance_number is not None else 0
    runs = instances = 1
    for f in files:
        if f.acquisition_number is not None and f.acquisition_number != acquisition:
            acquisition, runs = f.acquisition_number, runs + 1
        if f.instance_number is not None and f.instance_number != instance:
            instance, instances = f.instance_number, instances + 1
    run_width, instance_width = len(str(runs)), len(str(instances))
    current: int | None = first.acquisition_number if first.acquisition_number is not None else 0
    run, counter = 1, 0
    names: list[str] = []
    for f in files:
        number = f.acquisition_number if f.acquisition_number is not None else 0
        if number != current:
            current, run, counter = f.acquisition_number, run + 1, 1
        else:
            counter += 1
        names.append(f"{run:0{run_width}d}-{counter:0{instance_width}d}.dcm")
    return names


def test_tcia_new_file_names_oracle() -> None:
    """The oracle itself, on hand-worked cases (TCIA's example: ``1-01.dcm``)."""

    def files(pairs: list[tuple[int | None, int]]) -> list[Source]:
        return [Source(Path(), "", "", i, a, "", 0) for a, i in pairs]

    assert tcia_new_file_names(files([(1, n) for n in range(1, 11)])) == [
        f"1-{n:02d}.dcm" for n in range(1, 11)
    ]
    assert tcia_new_file_names(files([(1, 1), (1, 2), (2, 3), (1, 4)])) == [
        "1-1.dcm",
        "1-2.dcm",
        "2-1.dcm",
        "3-1.dcm",
    ]
    assert tcia_new_file_names(files([(None, 1), (None, 2)])) == ["1-1.dcm", "1-2.dcm"]


# --------------------------------------------------------------------------------------------------
# Helpers


def _unzip_test(path: Path) -> None:
    if not Path(UNZIP).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{UNZIP} is missing")
        pytest.skip(f"{UNZIP} is not installed")
    result = subprocess.run([UNZIP, "-t", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout, result.stdout


@dataclass(frozen=True)
class Downloaded:
    names: list[str]
    members: dict[str, bytes]


def _download_zip(client: httpx.Client, url: str, params: dict[str, str], target: Path) -> Downloaded:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].split(";")[0] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and f"{params['SeriesInstanceUID']}.zip" in disposition
    target.write_bytes(response.content)
    _unzip_test(target)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert len(names) == len(set(names)), names
        members = {name: archive.read(name) for name in names}
    return Downloaded(names, members)


def _dicom_members(download: Downloaded) -> list[str]:
    return [n for n in download.names if n not in ("LICENSE", "md5hashes.csv")]


def _assert_members_are_the_sources(
    download: Downloaded, files: Sequence[Source], names: Sequence[str]
) -> None:
    """Member ``names[k]`` holds exactly the bytes of ``files[k]`` (matched by SOPInstanceUID)."""
    assert download.names[0] == "LICENSE"
    assert _dicom_members(download) == list(names)
    for name, expected in zip(names, files, strict=True):
        data = download.members[name]
        assert _sop_of(data) == expected.sop_uid, f"{name} holds another instance"
        assert data == expected.path.read_bytes(), f"{name} differs from its source"


def _md5_table(download: Downloaded) -> dict[str, str]:
    assert download.names[-1] == "md5hashes.csv"
    rows = list(csv.reader(io.StringIO(download.members["md5hashes.csv"].decode("utf-8"))))
    assert rows[0] == ["Filename", "MD5Hash"]
    assert all(len(row) == 2 for row in rows[1:]), rows
    table = {name: digest for name, digest in rows[1:]}
    assert len(table) == len(rows) - 1, "a file listed twice"
    return table


def _ingest_luad(archive: Archive, corpus: Corpus) -> dict[str, list[Source]]:
    files = [p for p in corpus.files if LUAD in p.relative_to(corpus.root).parts]
    report = archive.ingest(files, LUAD)
    assert report.ingested == len(files), report.summary()
    return _by_series(files)


def _write_acquisition_series(folder: Path) -> list[Path]:
    """Twelve real CT instances (pydicom's CT_small) in three acquisition runs: 1 (x4), 2 (x5), 1 (x3).

    Files are written (and so ingested) in an order unrelated to InstanceNumber.
    """
    source = pydicom.data.get_testdata_file("CT_small.dcm")
    assert isinstance(source, str)
    acquisitions = [1] * 4 + [2] * 5 + [1] * 3
    study, series = generate_uid(), generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source)
        for order, instance in enumerate((7, 2, 11, 5, 1, 12, 9, 3, 10, 6, 4, 8)):
            sop = generate_uid()
            ds.PatientID = ds.PatientName = "TCGA-05-4244"
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, sop
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.InstanceNumber = instance
            ds.AcquisitionNumber = acquisitions[instance - 1]
            path = folder / f"file-{order:02d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------------
# getImage


@VERSIONS
def test_get_image_is_a_valid_zip_of_the_series_files_in_instance_order(
    base: str, archive: Archive, client: httpx.Client, corpus: Corpus, tmp_path: Path
) -> None:
    series = _ingest_luad(archive, corpus)
    archive.writer().describe_collection(
        LUAD,
        license_name="Creative Commons Attribution 3.0 Unported License",
        license_uri="http://creativecommons.org/licenses/by/3.0/",
    )
    for number, (uid, files) in enumerate(sorted(series.items())[:2]):
        download = _download_zip(
            client, f"{base}/getImage", {"SeriesInstanceUID": uid}, tmp_path / f"{number}.zip"
        )
        expected_names = [f"{n:08d}.dcm" for n in range(1, len(files) + 1)]
        _assert_members_are_the_sources(download, files, expected_names)
        licence = download.members["LICENSE"].decode("utf-8")
        assert "Creative Commons Attribution 3.0 Unported License" in licence
        assert "http://creativecommons.org/licenses/by/3.0/" in licence
        assert "md5hashes.csv" not in download.names


@VERSIONS
def test_new_file_names_follow_tcias_acquisition_run_rule(
    base: str, archive: Archive, client: httpx.Client, tmp_path: Path
) -> None:
    paths = _write_acquisition_series(tmp_path / "acquisitions")
    report = archive.ingest(paths, LUAD)
    assert report.ingested == len(paths), report.summary()
    ((uid, files),) = _by_series(paths).items()
    assert [f.instance_number for f in files] == list(range(1, 13))

    renamed = _download_zip(
        client, f"{base}/getImage", {"SeriesInstanceUID": uid, "NewFileNames": "Yes"}, tmp_path / "new.zip"
    )
    expected = tcia_new_file_names(files)
    # Three runs (acquisition 1, 2, then 1 again), instance parts padded to two digits (12 instances).
    assert expected[:5] == ["1-01.dcm", "1-02.dcm", "1-03.dcm", "1-04.dcm", "2-01.dcm"]
    assert expected[-1] == "3-03.dcm"
    _assert_members_are_the_sources(renamed, files, expected)

    plain = _download_zip(
        client, f"{base}/getImage", {"SeriesInstanceUID": uid, "NewFileNames": "No"}, tmp_path / "plain.zip"
    )
    _assert_members_are_the_sources(plain, files, [f"{n:08d}.dcm" for n in range(1, 13)])


def test_include_md5_and_get_image_with_md5_hash_list_every_dicom_member(
    archive: Archive, client: httpx.Client, corpus: Corpus, tmp_path: Path
) -> None:
    series = _ingest_luad(archive, corpus)
    uid, files = sorted(series.items())[0]
    sources = {f.sop_uid: f for f in files}
    requests = [
        (f"{V4}/getImage", {"SeriesInstanceUID": uid, "IncludeMD5": "Yes"}),
        (f"{V4}/getImage", {"SeriesInstanceUID": uid, "IncludeMD5": "Yes", "NewFileNames": "Yes"}),
        (f"{V4}/getImageWithMD5Hash", {"SeriesInstanceUID": uid}),
        (f"{V1}/getImageWithMD5Hash", {"SeriesInstanceUID": uid}),
    ]
    for number, (url, params) in enumerate(requests):
        download = _download_zip(client, url, params, tmp_path / f"{number}.zip")
        assert download.names[0] == "LICENSE"
        table = _md5_table(download)
        dicom = _dicom_members(download)
        assert list(table) == dicom, "md5hashes.csv lists the DICOM members, in order, and only them"
        assert len(dicom) == len(files)
        for name in dicom:
            data = download.members[name]
            assert table[name] == hashlib.md5(data).hexdigest()
            assert table[name] == sources[_sop_of(data)].data_md5


@VERSIONS
def test_download_errors_are_json_naming_the_parameter(
    base: str, archive: Archive, client: httpx.Client, corpus: Corpus
) -> None:
    series = _ingest_luad(archive, corpus)
    unknown = generate_uid()
    assert unknown not in series
    for endpoint in ("getImage", "getImageWithMD5Hash"):
        missing = client.get(f"{base}/{endpoint}", params={"SeriesInstanceUID": unknown})
        assert missing.status_code == 404, missing.text[:200]
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json()["error"] == "not_found"
        assert missing.json()["details"]["parameter"] == "SeriesInstanceUID"
        for bad in ("1.2.x", "1..2", "not a uid", "1.2." + "3" * 70):
            malformed = client.get(f"{base}/{endpoint}", params={"SeriesInstanceUID": bad})
            assert malformed.status_code == 400, (bad, malformed.text[:200])
            assert malformed.json()["details"]["parameter"] == "SeriesInstanceUID"
        absent = client.get(f"{base}/{endpoint}")
        assert absent.status_code == 400
        assert absent.json()["details"]["parameter"] == "SeriesInstanceUID"
    uid = sorted(series)[0]
    flag = client.get(f"{base}/getImage", params={"SeriesInstanceUID": uid, "NewFileNames": "maybe"})
    assert flag.status_code == 400
    assert flag.json()["details"]["parameter"] == "NewFileNames"
    stray = client.get(f"{base}/getImage", params={"SeriesInstanceUID": uid, "Format": "zip"})
    if base == V4:
        assert stray.status_code == 400
        assert stray.json()["details"]["parameter"] == "Format"
    else:
        assert stray.status_code == 200  # v1 ignores parameters it does not know, as TCIA's v1 does


# --------------------------------------------------------------------------------------------------
# getSingleImage


@VERSIONS
def test_single_image_serves_ranges_and_resumes(
    base: str, archive: Archive, client: httpx.Client, corpus: Corpus
) -> None:
    series = _ingest_luad(archive, corpus)
    uid, files = sorted(series.items())[0]
    source = files[len(files) // 2]
    data = source.path.read_bytes()
    size = len(data)
    url = f"{base}/getSingleImage"
    params = {"SeriesInstanceUID": uid, "SOPInstanceUID": source.sop_uid}

    full = client.get(url, params=params)
    assert full.status_code == 200
    assert full.headers["content-type"] == "application/dicom"
    assert full.content == data
    assert int(full.headers["content-length"]) == size
    assert full.headers["accept-ranges"] == "bytes"
    etag = full.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2, "a strong ETag"

    head = client.head(url, params=params)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == size
    assert head.headers["etag"] == etag

    cases = {
        "bytes=100-199": (100, 199),
        "bytes=1000-": (1000, size - 1),
        "bytes=-500": (size - 500, size - 1),
        f"bytes=10-{size * 10}": (10, size - 1),  # last-pos past the end is the end
        "bytes=0-0": (0, 0),
    }
    for header, (first, last) in cases.items():
        part = client.get(url, params=params, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert part.content == data[first : last + 1], header
        assert int(part.headers["content-length"]) == last - first + 1, header

    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        refused = client.get(url, params=params, headers={"Range": header})
        assert refused.status_code == 416, header
        assert refused.headers["content-range"] == f"bytes */{size}", header

    # Several ranges, a reversed range, another unit: the whole file, never an error.
    for header in ("bytes=0-1,5-6", "bytes=200-100", "items=0-5", "bytes=abc"):
        whole = client.get(url, params=params, headers={"Range": header})
        assert whole.status_code == 200 and whole.content == data, header

    matching = client.get(url, params=params, headers={"Range": "bytes=20-29", "If-Range": etag})
    assert matching.status_code == 206 and matching.content == data[20:30]
    stale = client.get(url, params=params, headers={"Range": "bytes=20-29", "If-Range": '"not-this-one"'})
    assert stale.status_code == 200 and stale.content == data

    # A download interrupted half-way, resumed from where it stopped.
    half = size // 2
    first_half = client.get(url, params=params, headers={"Range": f"bytes=0-{half - 1}"})
    assert first_half.status_code == 206 and len(first_half.content) == half
    rest = client.get(url, params=params, headers={"Range": f"bytes={half}-", "If-Range": etag})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes {half}-{size - 1}/{size}"
    assert first_half.content + rest.content == data

    other = files[0] if files[0] is not source else files[1]
    other_etag = client.head(url, params={**params, "SOPInstanceUID": other.sop_uid}).headers["etag"]
    assert other_etag != etag


@VERSIONS
def test_single_image_errors(base: str, archive: Archive, client: httpx.Client, corpus: Corpus) -> None:
    series = _ingest_luad(archive, corpus)
    (uid, files), (other_uid, _other) = sorted(series.items())[:2]
    url = f"{base}/getSingleImage"
    wrong_series = client.get(
        url, params={"SeriesInstanceUID": other_uid, "SOPInstanceUID": files[0].sop_uid}
    )
    assert wrong_series.status_code == 404
    assert wrong_series.json()["details"]["parameter"] == "SOPInstanceUID"
    malformed = client.get(url, params={"SeriesInstanceUID": uid, "SOPInstanceUID": "1.2.x"})
    assert malformed.status_code == 400
    assert malformed.json()["details"]["parameter"] == "SOPInstanceUID"
    if base == V4:
        stray = client.get(
            url, params={"SeriesInstanceUID": uid, "SOPInstanceUID": files[0].sop_uid, "x": "1"}
        )
        assert stray.status_code == 400
        assert stray.json()["details"]["parameter"] == "x"


# --------------------------------------------------------------------------------------------------
# Bounded memory


def _write_large_series(folder: Path, count: int) -> tuple[str, list[tuple[int, str]]]:
    """``count`` real CT headers with 2048x2048 16-bit pixel data (8 MiB each).

    Returns the series UID and each file's (size, md5), in InstanceNumber order.
    """
    source = pydicom.data.get_testdata_file("CT_small.dcm")
    assert isinstance(source, str)
    folder.mkdir(parents=True, exist_ok=True)
    pixels = bytearray(os.urandom(2048 * 2048 * 2))
    study, series = generate_uid(), generate_uid()
    written: list[tuple[int, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source)
        ds.Rows = ds.Columns = 2048
        ds.PatientID = ds.PatientName = "TCGA-05-4249"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        for number in range(1, count + 1):
            pixels[:4] = number.to_bytes(4, "little")  # every file's pixels differ
            sop = generate_uid()
            ds.SOPInstanceUID = sop
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.InstanceNumber = number
            ds.PixelData = bytes(pixels)
            path = folder / f"{number:03d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            data = path.read_bytes()
            written.append((len(data), hashlib.md5(data).hexdigest()))
    return series, written


def _stream_to(client: httpx.Client, url: str, params: dict[str, str], target: Path, sampler: PeakRss) -> int:
    received = 0
    with client.stream("GET", url, params=params) as response, target.open("wb") as out:
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == "application/zip"
        for chunk in response.iter_bytes(chunk_size=MB):
            out.write(chunk)
            received += len(chunk)
            sampler.sample()
    return received


def _members(path: Path) -> Iterator[tuple[str, int, str]]:
    """(name, size, md5) of each member, read in bounded chunks."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            digest = hashlib.md5()
            with archive.open(info) as member:
                while chunk := member.read(MB):
                    digest.update(chunk)
            yield info.filename, info.file_size, digest.hexdigest()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_300_mb_series_streams_in_bounded_server_memory(
    archive: Archive, client: httpx.Client, tmp_path: Path
) -> None:
    uid, written = _write_large_series(tmp_path / "large", 40)
    total = sum(size for size, _md5 in written)
    assert total > 300 * 1000 * 1000
    report = archive.ingest([tmp_path / "large"], LUAD)
    assert report.ingested == len(written), report.summary()

    gc.collect()
    target = tmp_path / "large.zip"
    with PeakRss(interval=0.005, children=False) as sampler:  # this process: the server's thread
        baseline = sampler.rss()
        started = time.monotonic()
        received = _stream_to(client, f"{V4}/getImage", {"SeriesInstanceUID": uid}, target, sampler)
        elapsed = time.monotonic() - started
    growth = sampler.peak - baseline
    assert received == target.stat().st_size > total
    assert growth < 100 * MB, f"RSS grew {growth / MB:.0f} MB while {received / MB:.0f} MB were sent"
    assert elapsed < 60, f"{received / MB:.0f} MB took {elapsed:.1f} s"

    with zipfile.ZipFile(target) as downloaded:
        assert downloaded.testzip() is None  # every member's CRC and size
    members = {name: (size, digest) for name, size, digest in _members(target)}
    assert next(iter(members)) == "LICENSE"
    del members["LICENSE"]
    assert members == {f"{n:08d}.dcm": expected for n, expected in enumerate(written, start=1)}
