"""Rendered-frame benchmark: Ria's WADO-RS /rendered against Orthanc's DICOMweb plugin, same files, one run.

Usage::

    python bench/rendered.py [--repeats R] [--compare-to COMMIT] [--keep]

Steps:

1. start ``ria serve`` (fresh data folder, SQLite catalogue, defaults) and a throw-away Orthanc
   with its DICOMweb plugin, both on 127.0.0.1 with free ports;
2. store three real pydicom test files in both (Ria: STOW-RS; Orthanc: POST /instances):
   CT_small (one 16-bit frame), emri_small (10 native frames) and color3d_jpeg_baseline
   (120 YBR_FULL_422 JPEG frames, the case where decoding only the asked frame matters);
3. per case, one warm-up request then R timed ones to each server, alternating; every answer
   must be 200, of the asked image type, and decode (Pillow) to the file's size;
4. print the median and 90th percentile milliseconds side by side, and Ria/Orthanc; with
   ``--compare-to``, also the median of a third server running the ria source of that commit
   (``git archive``), "-" where it does not answer (e.g. a route it lacks).

The exit status is 0 whatever the figures; 1 when a server does not start or a check fails.
Needs the Debian packages ``orthanc`` and ``orthanc-dicomweb``, ``requests`` and the ``render``
and ``codecs`` extras.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
import requests
from common import ria_source_state, workspace
from orthanc import (
    ORTHANC_DICOMWEB_ROOT,
    BenchError,
    find_dicomweb_plugin,
    find_orthanc,
    start_orthanc,
    start_ria,
)
from PIL import Image
from stow_memory import source_tree

from ria.sample import find_test_file

BOUNDARY = "ria-bench-rendered"
COLLECTION = "TCGA-LUAD"


@dataclass(frozen=True)
class Case:
    label: str
    file: str
    suffix: str  # after the instance's (or, with series=True, the series') path
    media_type: str
    series: bool = False


CASES = (
    Case("CT 16-bit, instance rendered (PNG)", "CT_small.dcm", "/rendered", "image/png"),
    Case("MR 10 frames, frame 7 (PNG)", "emri_small.dcm", "/frames/7/rendered", "image/png"),
    Case(
        "JPEG YBR 120 frames, frame 60 (JPEG)",
        "color3d_jpeg_baseline.dcm",
        "/frames/60/rendered",
        "image/jpeg",
    ),
    Case(
        "JPEG YBR 120 frames, frame 120 (PNG)",
        "color3d_jpeg_baseline.dcm",
        "/frames/120/rendered",
        "image/png",
    ),
    Case(
        "series rendered, JPEG YBR (JPEG)",
        "color3d_jpeg_baseline.dcm",
        "/rendered",
        "image/jpeg",
        series=True,
    ),
)


def _header(name: str) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(find_test_file(name), stop_before_pixels=True)


def _store(urls: dict[str, str], name: str) -> None:
    """The file as a site would send it (a TCGA PatientID where it has none), the same bytes to each."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(find_test_file(name))
    ds.PatientID = ds.get("PatientID") or "TCGA-05-4244"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    body = (
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + data
        + f"\r\n--{BOUNDARY}--".encode()
    )
    stow = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'}
    for label, url in urls.items():
        if label == "Orthanc":
            answer = requests.post(
                f"{url}/instances", data=data, headers={"Content-Type": "application/dicom"}
            )
        else:
            answer = requests.post(
                f"{url}/dicomweb/collections/{COLLECTION}/studies", data=body, headers=stow
            )
        if answer.status_code != 200:
            raise BenchError(f"{label} refused {name}: HTTP {answer.status_code} {answer.text[:300]}")


def _path(case: Case) -> str:
    ds = _header(case.file)
    series = f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
    return series + case.suffix if case.series else f"{series}/instances/{ds.SOPInstanceUID}{case.suffix}"


def _get(session: requests.Session, url: str, case: Case) -> float:
    """One request, checked; its wall time in seconds."""
    started = time.perf_counter()
    answer = session.get(url, headers={"Accept": case.media_type, "Accept-Encoding": "identity"})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200 or not answer.headers.get("content-type", "").startswith(case.media_type):
        raise BenchError(f"GET {url}: HTTP {answer.status_code} {answer.headers.get('content-type')}")
    ds = _header(case.file)
    size = Image.open(io.BytesIO(answer.content)).size
    if size != (ds.Columns, ds.Rows):
        raise BenchError(f"GET {url}: a {size} picture, the file is {ds.Columns}x{ds.Rows}")
    return elapsed


def _ms(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[int(0.9 * (len(ordered) - 1))] * 1000


def _column(
    session: requests.Session, url: str, case: Case, repeats: int, strict: bool
) -> list[float] | None:
    """``repeats`` timed requests after one warm-up; None if a non-strict server does not answer."""
    try:
        _get(session, url, case)
        return [_get(session, url, case) for _ in range(repeats)]
    except BenchError:
        if strict:
            raise
        return None


def run(repeats: int, folder: Path, compare_to: str | None) -> int:
    plugin, executable = find_dicomweb_plugin(None), find_orthanc(None)
    before_tree = source_tree(compare_to, folder) if compare_to else None
    with contextlib.ExitStack() as stack:
        servers = {"Ria": stack.enter_context(start_ria(folder / "ria-data", folder / "ria.log"))}
        servers["Orthanc"] = stack.enter_context(start_orthanc(executable, plugin, folder / "orthanc"))
        if before_tree is not None:
            servers["before"] = stack.enter_context(
                start_ria(folder / "before-data", folder / "before.log", pythonpath=before_tree)
            )
        for server in servers.values():
            server.wait_ready()
        for name in sorted({case.file for case in CASES}):
            _store({label: server.url for label, server in servers.items()}, name)
        roots = {
            label: f"{server.url}/dicomweb/collections/{COLLECTION}" for label, server in servers.items()
        }
        roots["Orthanc"] = f"{servers['Orthanc'].url}{ORTHANC_DICOMWEB_ROOT.rstrip('/')}"
        print(
            f"rendered frames, {repeats} requests per case and server, one client; ria {ria_source_state()}"
        )
        extra = f" {compare_to[:12] + ' median':>20}" if compare_to else ""
        print(
            f"{'case':42} {'Ria median/p90 ms':>19} {'Orthanc median/p90 ms':>23} {'Ria/Orthanc':>12}{extra}"
        )
        sessions = {label: stack.enter_context(requests.Session()) for label in roots}
        for case in CASES:
            times = {
                label: _column(sessions[label], root + _path(case), case, repeats, strict=label != "before")
                for label, root in roots.items()
            }
            ria_median, ria_p90 = _ms(times["Ria"] or [])
            orthanc_median, orthanc_p90 = _ms(times["Orthanc"] or [])
            line = f"{case.label:42} {ria_median:9.1f} /{ria_p90:7.1f}"
            line += f" {orthanc_median:11.1f} /{orthanc_p90:9.1f} {ria_median / orthanc_median:12.2f}"
            if compare_to:
                before = times.get("before")
                line += f" {_ms(before)[0]:20.1f}" if before else f" {'-':>20}"
            print(line)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--compare-to", default=None, help="also measure the ria source of this git commit")
    parser.add_argument("--keep", action="store_true", help="keep the data folders and logs")
    args = parser.parse_args()
    try:
        with workspace(args.keep, "ria-bench-rendered-") as folder:
            return run(args.repeats, folder, args.compare_to)
    except BenchError as exc:
        print(f"bench/rendered.py: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
