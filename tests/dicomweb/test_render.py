"""Rendered frames of real pydicom test files: Ria's picture is the one pydicom's own functions give.

Each case files a real file (or one pydicom re-encapsulated from a real one) in a real
archive on SQLite and PostgreSQL, renders one frame as PNG, decodes the PNG and compares
every pixel with :func:`tests.dicomweb.cases.expected`; JPEG within a tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from ria.archive import Archive
from ria.dicomweb.render import RenderOptions, Window, frame_count, render_frame
from ria.errors import NotFoundError
from tests.dicomweb.cases import decoded, expected, file_in, read, refragmented, reread

PNG = RenderOptions(media_type="image/png")


def _windowed(function: str) -> Callable[[], Dataset]:
    def make() -> Dataset:
        ds = read("CT_small.dcm")
        ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = "40", "400", function
        return ds

    return make


def _gamma_voi_lut() -> Dataset:
    """vlut_04 with its (linear) VOI LUT replaced by a square curve, so that applying it shows."""
    ds = read("vlut_04.dcm")
    ds.VOILUTSequence[0].LUTData = [round((i / 255) ** 2 * 65535) for i in range(256)]
    return ds


def _windowed_modality_lut() -> Dataset:
    """mlut_18 with a window in the Modality LUT's output units (stored values are -2048..2047)."""
    ds = read("mlut_18.dcm")
    ds.WindowCenter, ds.WindowWidth = "36000", "8000"
    return ds


CASES: dict[str, tuple[Callable[[], Dataset], int]] = {
    # name: (the data set to file, the frame to render, 1-based)
    "modality LUT sequence": (lambda: read("mlut_18.dcm"), 1),
    "modality LUT sequence under a header window": (_windowed_modality_lut, 1),
    "VOI LUT sequence": (lambda: read("vlut_04.dcm"), 1),
    "VOI LUT sequence, a square curve": (_gamma_voi_lut, 1),
    "VOILUTFunction SIGMOID": (_windowed("SIGMOID"), 1),
    "VOILUTFunction LINEAR_EXACT": (_windowed("LINEAR_EXACT"), 1),
    "rescale and the frame's own range": (lambda: read("CT_small.dcm"), 1),
    "MONOCHROME1 with a header window": (lambda: read("RG1_UNCI.dcm"), 1),
    "PALETTE COLOR": (lambda: read("OBXXXX1A.dcm"), 1),
    "PALETTE COLOR, RLE, second frame": (lambda: read("OBXXXX1A_rle_2frame.dcm"), 2),
    "YBR_FULL_422 native": (lambda: read("SC_ybr_full_422_uncompressed.dcm"), 1),
    "YBR_FULL native": (lambda: read("SC_ybr_full_uncompressed.dcm"), 1),
    "RGB 16-bit, second frame": (lambda: read("SC_rgb_16bit_2frame.dcm"), 2),
    "multi-frame native, frame 7": (lambda: read("emri_small.dcm"), 7),
    "multi-frame JPEG 2000, frame 7": (lambda: read("emri_small_jpeg_2k_lossless.dcm"), 7),
    "multi-fragment frames, no offset table": (
        lambda: refragmented("emri_small_jpeg_2k_lossless.dcm", extended=False),
        4,
    ),
    "Extended Offset Table": (lambda: refragmented("emri_small_jpeg_2k_lossless.dcm", extended=True), 9),
    "deflated": (lambda: read("image_dfl.dcm"), 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_png_frame_is_pydicoms_picture(archive: Archive, tmp_path: Path, case: str) -> None:
    make, frame = CASES[case]
    stored = file_in(archive, tmp_path, make())
    picture = decoded(render_frame(archive, stored, frame, PNG))
    assert np.array_equal(picture, expected(reread(archive, stored), frame - 1))


def test_the_yuv_jpeg_frames_of_a_120_frame_instance_are_pydicoms(archive: Archive, tmp_path: Path) -> None:
    """YBR_FULL_422 JPEG baseline: only frame 60 is decoded; served as JPEG it is within JPEG's error."""
    stored = file_in(archive, tmp_path, read("color3d_jpeg_baseline.dcm"))
    ds = reread(archive, stored)
    png = decoded(render_frame(archive, stored, 60, PNG))
    assert np.array_equal(png, expected(ds, 59))
    jpeg = decoded(render_frame(archive, stored, 60, RenderOptions(quality=95))).astype(np.int16)
    assert np.abs(jpeg - expected(ds, 59)).mean() < 3


@pytest.mark.parametrize(
    ("text", "function"),
    [
        (("40", "400", "LINEAR"), "LINEAR"),
        (("0", "100", "SIGMOID"), "SIGMOID"),
        (("-50", "0.5", "LINEAR_EXACT"), "LINEAR_EXACT"),
    ],
)
def test_an_asked_window_replaces_the_headers_voi(
    archive: Archive, tmp_path: Path, text: tuple[str, str, str], function: str
) -> None:
    stored = file_in(archive, tmp_path, read("vlut_04.dcm"))  # a VOI LUT Sequence the asked window overrides
    window = Window(float(text[0]), float(text[1]), function)
    picture = decoded(render_frame(archive, stored, 1, RenderOptions("image/png", window)))
    assert np.array_equal(picture, expected(reread(archive, stored), 0, text))


def test_frame_counts_and_missing_frames(archive: Archive, tmp_path: Path) -> None:
    multi = file_in(archive, tmp_path, read("emri_small.dcm"))
    report = file_in(archive, tmp_path, _no_pixels())
    assert frame_count(archive, multi) == 10 and frame_count(archive, report) == 0
    with pytest.raises(NotFoundError, match="frame 11"):
        render_frame(archive, multi, 11, PNG)
    with pytest.raises(NotFoundError, match="no pixel data"):
        render_frame(archive, report, 1, PNG)


def _no_pixels() -> Dataset:
    ds = read("CT_small.dcm")
    del ds.PixelData
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds
