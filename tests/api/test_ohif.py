"""The real OHIF Viewer 3.13 in headless Chromium against Ria (issue 15: every real client works unmodified).

OHIF's prebuilt ``dist/`` (npm ``@ohif/app``, integrity-checked, see tests/api/ohif.py) is served on
loopback with an ``app-config.js`` pointing its DICOMweb data source at a live Ria, and driven by
Playwright in Debian's Chromium. The archive holds pydicom's CT and MR and copies without a Modality
(tests/api/modality_cases.py): before Ria left value-less attributes out, the study list failed
with "Data Source Connection Error: Cannot read properties of undefined (reading 'length')".

Expected rows (patient names, dates, modalities, descriptions, instance counts, patient IDs) come
from pydicom's reading of the files; what the viewport shows for a CT, an enhanced MR (multi-frame)
and a colour ultrasound cine is compared with pydicom's decoded first frame by correlation. Same
origin (OHIF and /dicomweb in one server) and cross-origin (CORS), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page

from ria.api import create_app
from ria.archive import Archive
from ria.sample import find_test_file
from tests.api.conftest import LiveServer
from tests.api.modality_cases import Case, read, write_cases
from tests.api.ohif import app_config, ohif_dist, site_app

COLLECTION = "TCGA-LUAD"
WAIT_MS = 90_000  # how long to wait for the viewer to get somewhere: a readiness bound, not a speed claim
FAILURE = "Data Source Connection Error"


@pytest.fixture(scope="module")
def dist() -> Path:
    return ohif_dist()


@pytest.fixture
def cases(archive: Archive, tmp_path: Path) -> list[Case]:
    written = write_cases(tmp_path / "cases")
    report = archive.ingest([case.path for case in written], collection=COLLECTION)
    assert report.ingested == len(written), report.summary()
    return written


@dataclass
class Viewer:
    """One browser page on OHIF, with the uncaught errors and TypeErrors it reported.

    Only TypeErrors are kept from the console: OHIF logs harmless errors too (e.g. a missing
    service worker), while a data source answer it cannot read surfaces as a TypeError."""

    page: Page
    errors: list[str]

    def assert_no_failure(self) -> None:
        assert self.page.get_by_text(FAILURE).count() == 0, self.page.inner_text("body")
        assert self.errors == [], self.errors


@contextlib.contextmanager
def _open(browser: Browser, url: str) -> Iterator[Viewer]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "TypeError" in message.text:
            errors.append(f"console: {message.text}")

    page.on("console", console)
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    try:
        yield Viewer(page, errors)
    finally:
        context.close()


def _serve_ohif(
    live: LiveServer, dist: Path, dicomweb_root: str, archive: Archive | None = None
) -> LiveServer:
    """Make ``live`` (not started yet) serve OHIF's dist, its data source at ``dicomweb_root``; with
    ``archive``, Ria's app for it answers ``/dicomweb`` in the same server (one origin).

    :class:`LiveServer` stays the one uvicorn-in-a-thread launcher: only its app is swapped, before
    it starts (uvicorn loads ``config.app`` when it runs)."""
    archive_app = create_app(archive) if archive is not None else None
    live.server.config.app = site_app(dist, app_config(dicomweb_root), archive_app)
    return live


@dataclass(frozen=True)
class StudyRow:
    """What OHIF's study list shows for a study, from pydicom: name, date, modalities, description,
    instances; and the PatientID its details panel shows."""

    patient: str
    date: str
    modalities: str
    description: str
    instances: str
    patient_id: str


def _expected_rows(cases: list[Case]) -> list[StudyRow]:
    studies: dict[str, list[Case]] = {}
    for case in cases:
        studies.setdefault(str(case.dataset.StudyInstanceUID), []).append(case)
    rows = []
    for members in studies.values():
        ds = members[0].dataset
        modalities = sorted({str(c.dataset.Modality) for c in members if c.dataset.get("Modality")})
        date = _list_date(ds)
        rows.append(
            StudyRow(
                ", ".join(part for part in str(ds.PatientName).split("^") if part),  # OHIF's formatPN
                date,
                "/".join(modalities),
                str(ds.get("StudyDescription") or "No Description"),  # OHIF's words for none
                str(len(members)),
                ds.PatientID,
            )
        )
    return sorted(rows, key=lambda row: dt.datetime.strptime(row.date, "%d-%b-%Y"), reverse=True)


def _study_list(viewer: Viewer, expected: list[StudyRow]) -> None:
    """The study list shows every study with pydicom's values, and each one's PatientID when selected."""
    page = viewer.page
    listed = page.get_by_text(f"1-{len(expected)} of {len(expected)}")
    listed.or_(page.get_by_text(FAILURE)).first.wait_for()  # whichever comes: the list, or OHIF's error
    viewer.assert_no_failure()
    shown = []
    for line in page.locator("tbody tr").all():
        cells = [cell.inner_text().strip() for cell in line.locator("td").all()]
        if len(cells) >= 6 and cells[1]:  # patient, date, modalities, description, accession, instances
            shown.append((cells[0], cells[1], cells[2], cells[3], cells[5]))
    assert shown == [(r.patient, r.date, r.modalities, r.description, r.instances) for r in expected]
    for row in expected:
        page.locator("tbody tr", has_text=row.date).click()
        page.get_by_text(row.patient_id, exact=True).wait_for()
    viewer.assert_no_failure()


def _list_date(ds: pydicom.Dataset) -> str:
    """A StudyDate as OHIF's lists show it (19-Jan-2004)."""
    return dt.datetime.strptime(str(ds.StudyDate), "%Y%m%d").strftime("%d-%b-%Y")


def _open_from_list(viewer: Viewer, case: Case) -> None:
    """Select the case's study in the study list and launch it in the Basic Viewer."""
    page = viewer.page
    page.locator("tbody tr", has_text=_list_date(case.dataset)).click()
    page.get_by_role("button", name="Basic Viewer").click()
    page.wait_for_url(f"**/viewer?StudyInstanceUIDs={case.dataset.StudyInstanceUID}*")


def _viewport(viewer: Viewer) -> np.ndarray:
    """The viewport's canvas as grey levels, once it shows something other than one colour."""
    page = viewer.page
    page.wait_for_function(
        """() => {
            const canvas = document.querySelector('canvas.cornerstone-canvas');
            if (!canvas || !canvas.width) return false;
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 0; i < data.length; i += 4) if (data[i] !== data[0]) return true;
            return false;
        }"""
    )
    png = page.evaluate("() => document.querySelector('canvas.cornerstone-canvas').toDataURL('image/png')")
    return np.asarray(
        Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1]))).convert("L"), dtype=float
    )


def _assert_shows(viewer: Viewer, expected: np.ndarray) -> None:
    """The viewport shows ``expected`` (a frame as pydicom decodes it, rows x columns of grey levels).

    Cornerstone fits the image to the viewport and centres it: that rectangle is cut out and binned
    to the image's size, then compared by correlation, which no window/level choice changes much.
    """
    shown = _viewport(viewer)
    rows, columns = expected.shape
    scale = min(shown.shape[0] / rows, shown.shape[1] / columns)
    height, width = round(rows * scale), round(columns * scale)
    top, left = (shown.shape[0] - height) // 2, (shown.shape[1] - width) // 2
    fitted = Image.fromarray(shown[top : top + height, left : left + width])
    binned = np.asarray(fitted.resize((columns, rows), Image.Resampling.BOX), dtype=float)
    assert binned.std() > 10, "the viewport is blank"
    correlation = np.corrcoef(binned.ravel(), expected.astype(float).ravel())[0, 1]
    assert correlation > 0.98, correlation
    viewer.assert_no_failure()


def _rendered_ct(viewer: Viewer, ct: Case) -> None:
    """Open the CT study from the list; the viewport must show pydicom's pixels (in HU)."""
    _open_from_list(viewer, ct)
    ds = ct.dataset
    _assert_shows(viewer, ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept))


def test_study_list_and_ct_from_the_same_origin(
    archive: Archive, cases: list[Case], dist: Path, browser: Browser
) -> None:
    """OHIF and /dicomweb behind one host, as a site deploys them: no CORS involved."""
    site = LiveServer(archive)
    with _serve_ohif(site, dist, f"{site.url}/dicomweb", archive), _open(browser, f"{site.url}/") as viewer:
        _study_list(viewer, _expected_rows(cases))
        _rendered_ct(viewer, next(c for c in cases if c.name == "ct"))


def test_study_list_and_ct_from_another_origin(
    archive: Archive, cases: list[Case], dist: Path, browser: Browser
) -> None:
    """OHIF on its own origin calling Ria on another, allowed by ``Settings.cors_origins``."""
    site = LiveServer(archive)  # to serve OHIF only; its URL is the origin Ria must allow
    allowing = replace(archive.settings, cors_origins=(site.url,))
    with (
        Archive(allowing) as same_data,
        LiveServer(same_data) as ria,
        _serve_ohif(site, dist, f"{ria.url}/dicomweb"),
        _open(browser, f"{site.url}/") as viewer,
    ):
        _study_list(viewer, _expected_rows(cases))
        _rendered_ct(viewer, next(c for c in cases if c.name == "ct"))


@pytest.fixture
def multiframe(archive: Archive, tmp_path: Path) -> list[Case]:
    """pydicom's enhanced MR (10 frames; given a PatientID, which Ria requires) and colour ultrasound
    cine (120 JPEG baseline frames, YBR_FULL_422)."""
    mr = read(find_test_file("emri_small.dcm"))
    mr.PatientID, mr.PatientName = "EMR1", "Enhanced^MR"
    mr_path = tmp_path / "emri.dcm"
    mr.save_as(mr_path)
    us_path = find_test_file("color3d_jpeg_baseline.dcm")
    report = archive.ingest([mr_path, us_path], collection=COLLECTION)
    assert report.ingested == 2, report.summary()
    return [Case("enhanced-mr", mr_path, read(mr_path)), Case("us-cine", us_path, read(us_path))]


def test_multiframe_enhanced_mr_and_colour_ultrasound_cine(
    archive: Archive, multiframe: list[Case], dist: Path, browser: Browser
) -> None:
    """Both open from the study list and show their first frame as pydicom decodes it."""
    mr, us = multiframe
    site = LiveServer(archive)
    with _serve_ohif(site, dist, f"{site.url}/dicomweb", archive), _open(browser, f"{site.url}/") as viewer:
        _study_list(viewer, _expected_rows(multiframe))
        _open_from_list(viewer, mr)
        _assert_shows(viewer, mr.dataset.pixel_array[0])
        viewer.page.goto(f"{site.url}/")
        _open_from_list(viewer, us)
        rgb = us.dataset.pixel_array[0].astype(float)  # pydicom converts YBR to RGB
        _assert_shows(viewer, rgb @ np.array([0.299, 0.587, 0.114]))  # grey as PIL's "L" weighs it
