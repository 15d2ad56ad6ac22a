"""A 300 MB STOW-RS part costs the server a fixed amount of memory, and comes back byte-exact.

A real ``ria serve`` process on loopback receives one multipart/related part holding a real
multi-frame CT with 300 MiB of pixel data, streamed by the client from a generator; a thread
samples the server's RSS (psutil) all the while. The rise over idle must stay under 100 MiB,
and WADO-RS must give back the very bytes sent (SHA-256, hashed as the answer streams).

The same holds for a collection that de-identifies on the way in (profile tcia): the header
is rewritten and the Pixel Data streamed (:mod:`ria.deid.streaming`), so what comes back has
the source's pixels, bit for bit, under a de-identified header. ``ria ingest --deidentify``
of a large file takes the same worker code, and its peak RSS is checked too.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pydicom
import pytest

from ria.archive import Archive
from ria.deid import streaming
from ria.dicomweb.multipart import MultipartReader, iter_multipart
from ria.sample import find_test_file
from ria.sample.large import LargeInstance, write_large_instance
from ria.settings import Settings
from tests.cli.test_cli import RIA
from tests.live import PeakRss, ria_serve

pytestmark = pytest.mark.slow

MIB = 1 << 20
BOUNDARY = "stow-memory-boundary"
STOW = "/dicomweb/collections/TCGA-LUAD/studies"
HEADERS = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """``ria serve`` in its own process: (base URL, pid)."""
    with ria_serve(tmp_path / "data", tmp_path / "serve.log", "--local-curators") as server:
        yield server


def _body(path: Path) -> Iterator[bytes]:
    """The file as the one part of a STOW-RS body, read and sent 1 MiB at a time (never held)."""
    with open(path, "rb") as handle:
        blocks = iter(lambda: handle.read(MIB), b"")
        yield from iter_multipart([("application/dicom", blocks)], BOUNDARY, block_size=MIB)


class _Hash:
    def __init__(self, digest: hashlib._Hash) -> None:
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)

    def close(self) -> None:
        return None


def _retrieved_sha256(client: httpx.Client, instance: LargeInstance) -> str:
    digest = hashlib.sha256()
    url = (
        f"/dicomweb/studies/{instance.study_instance_uid}/series/{instance.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )
    _retrieve_part(client, url, _Hash(digest))  # type: ignore[arg-type]
    return digest.hexdigest()


def _retrieve_part(client: httpx.Client, url: str, out: BinaryIO) -> None:
    """WADO-RS: the answer's one part written to ``out`` as it streams (and ``out`` closed)."""
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        reader = MultipartReader(response.headers["content-type"], lambda _i: out)
        for chunk in response.iter_bytes():
            reader.write(chunk)
        assert len(reader.finish()) == 1


def test_a_300_mb_part_is_spooled_not_held(served: tuple[str, int], tmp_path: Path) -> None:
    base, pid = served
    instance = write_large_instance(tmp_path / "large.dcm", 300 * MIB)
    assert instance.size > 300 * MIB
    with httpx.Client(base_url=base, timeout=600) as client:
        warm = client.post(STOW, content=_body(find_test_file("CT_small.dcm")), headers=HEADERS)
        assert warm.status_code == 200  # imports and first connection paid before idle is read
        time.sleep(0.5)
        with PeakRss(pid) as rss:
            idle = rss.rss()
            response = client.post(STOW, content=_body(instance.path), headers=HEADERS)
        peak = rss.peak
        assert response.status_code == 200, response.text[:300]
        assert peak - idle < 100 * MIB, f"peak RSS {peak / MIB:.0f} MiB, idle {idle / MIB:.0f} MiB"
        assert _retrieved_sha256(client, instance) == instance.sha256


SITE_ID, TARGET = "MRN-1", "TCGA-05-4244"


def _require_deidentification(data_dir: Path, tmp_path: Path) -> Path:
    """TCGA-LUAD de-identifies on the way in (profile tcia), with an ID map for the site's patient."""
    id_map = tmp_path / "id-map.csv"
    id_map.write_text(f"source_patient_id,target_patient_id\n{SITE_ID},{TARGET}\n")
    with Archive(Settings(data_dir=data_dir)) as archive:
        archive.require_deidentification("TCGA-LUAD", "tcia")
        archive.store_id_map("TCGA-LUAD", id_map)
    return id_map


def _pixel_sha256(handle: BinaryIO) -> str:
    """SHA-256 of a file's Pixel Data element (tag to last byte), read in blocks."""
    found = streaming.cut(handle, whole_below=0)
    assert found is not None, "no Pixel Data element found"
    handle.seek(found.start)
    digest, remaining = hashlib.sha256(), found.stop - found.start
    while remaining:
        block = handle.read(min(MIB, remaining))
        assert block
        digest.update(block)
        remaining -= len(block)
    return digest.hexdigest()


def _assert_deidentified_with_source_pixels(stored: BinaryIO, instance: LargeInstance) -> None:
    found = streaming.cut(stored, whole_below=0)
    assert found is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = pydicom.dcmread(io.BytesIO(found.head))  # everything before Pixel Data
    assert header.PatientID == TARGET and header.PatientName == TARGET
    assert header.PatientIdentityRemoved == "YES"
    assert header.SOPInstanceUID != instance.sop_instance_uid  # new UIDs: it went through the profile
    assert SITE_ID.encode() not in found.head + found.trailer
    with open(instance.path, "rb") as source:
        assert _pixel_sha256(stored) == _pixel_sha256(source)


def test_a_300_mb_part_into_a_deidentifying_collection_is_streamed_not_held(tmp_path: Path) -> None:
    instance = write_large_instance(tmp_path / "large.dcm", 300 * MIB, patient_id=SITE_ID)
    _require_deidentification(tmp_path / "data", tmp_path)
    with (
        ria_serve(tmp_path / "data", tmp_path / "serve.log", "--local-curators") as (base, pid),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        warm = client.post(STOW, content=_body(find_test_file("CT_small.dcm")), headers=HEADERS)
        assert warm.status_code < 500  # imports and first connection paid before idle is read
        time.sleep(0.5)
        with PeakRss(pid) as rss:
            idle = rss.rss()
            response = client.post(STOW, content=_body(instance.path), headers=HEADERS)
        peak = rss.peak
        assert response.status_code == 202, response.text[:300]  # stored, UIDs coerced
        assert peak - idle < 100 * MIB, f"peak RSS {peak / MIB:.0f} MiB, idle {idle / MIB:.0f} MiB"
        (item,) = response.json()["00081199"]["Value"]
        url = item["00081190"]["Value"][0]
        back = tmp_path / "back.dcm"
        with open(back, "wb") as out:
            _retrieve_part(client, url.replace(base, ""), out)
    with open(back, "rb") as stored:
        _assert_deidentified_with_source_pixels(stored, instance)


def _ingest_peak(folder: Path, data_dir: Path, id_map: Path, log: Path) -> int:
    """Peak RSS of one ``ria ingest --deidentify tcia`` process, its worker processes included."""
    args = ["ingest", str(folder), "-c", "TCGA-LUAD", "--deidentify", "tcia", "--id-map", str(id_map)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*RIA, *args, "--data-dir", str(data_dir)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, log.read_text()
    return usage.ru_maxrss * 1024  # KiB on Linux; the maximum over the process and its reaped children


def test_ria_ingest_deidentify_streams_a_large_file_too(tmp_path: Path) -> None:
    site, small = tmp_path / "site", tmp_path / "small"
    site.mkdir()
    small.mkdir()
    instance = write_large_instance(site / "large.dcm", 160 * MIB, patient_id=SITE_ID)
    write_large_instance(small / "small.dcm", 1 * MIB, patient_id=SITE_ID)
    id_map = _require_deidentification(tmp_path / "baseline", tmp_path)
    baseline = _ingest_peak(small, tmp_path / "baseline", id_map, tmp_path / "small.log")
    peak = _ingest_peak(site, tmp_path / "data", id_map, tmp_path / "large.log")
    assert peak - baseline < 100 * MIB, f"peak RSS {peak / MIB:.0f} MiB, baseline {baseline / MIB:.0f} MiB"
    with Archive(Settings(data_dir=tmp_path / "data")) as archive:
        (key,) = list(archive.store.iter_keys())
        with archive.store.open(key) as stored:
            _assert_deidentified_with_source_pixels(stored, instance)
