"""ria.dicom.transcode: every stored syntax to every syntax Ria produces, pixels checked against pydicom.

Expected pixels are pydicom's own decode of the source file; each result is written as a
Part 10 file and read back, so what is checked is what a peer would receive.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from ria.dicom.transcode import TranscodeError, can_produce, peer_order, send_syntaxes, transcode
from ria.sample import find_test_file

SOURCES = [
    "CT_small.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_RLE.dcm",
    "SC_rgb_rle.dcm",
]
TARGETS = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
    RLELossless,
    JPEG2000Lossless,
    JPEGLSLossless,
]


def _read(data: str | bytes) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data) if isinstance(data, bytes) else data)


@pytest.mark.parametrize("target", TARGETS, ids=lambda uid: UID(uid).keyword)
@pytest.mark.parametrize("name", SOURCES)
def test_transcoding_keeps_every_pixel(name: str, target: UID) -> None:
    path = str(find_test_file(name))
    expected = _read(path).pixel_array
    result = transcode(_read(path), target)
    out = io.BytesIO()
    result.save_as(out, enforce_file_format=True)
    back = _read(out.getvalue())
    assert back.file_meta.TransferSyntaxUID == target
    assert back.SOPInstanceUID == _read(path).SOPInstanceUID
    assert np.array_equal(back.pixel_array, expected)


def test_the_stored_syntax_is_left_untouched() -> None:
    path = str(find_test_file("MR_small_jp2klossless.dcm"))
    dataset = _read(path)
    assert transcode(dataset, JPEG2000Lossless).PixelData == _read(path).PixelData


def test_lossy_syntaxes_are_never_produced() -> None:
    assert not can_produce(JPEGBaseline8Bit)
    with pytest.raises(TranscodeError, match="does not encode JPEG Baseline"):
        transcode(_read(str(find_test_file("CT_small.dcm"))), JPEGBaseline8Bit)


def test_send_syntaxes_prefers_stored_then_little_endian_then_encodable() -> None:
    accepted = [ExplicitVRBigEndian, JPEGBaseline8Bit, RLELossless, ExplicitVRLittleEndian]
    assert send_syntaxes(JPEG2000Lossless, accepted) == [
        ExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        RLELossless,
    ]
    assert send_syntaxes(JPEGBaseline8Bit, accepted)[0] == JPEGBaseline8Bit
    assert send_syntaxes(JPEG2000Lossless, [JPEGBaseline8Bit]) == []


def test_peer_order_follows_the_peer_among_what_ria_can_produce() -> None:
    ours = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit, JPEG2000Lossless]
    # The peer's first choice wins when Ria can produce it from anything stored...
    assert peer_order([JPEG2000Lossless, ExplicitVRLittleEndian], ours)[0] == JPEG2000Lossless
    # ...but not a lossy one it cannot encode, while the peer offers something Ria can produce.
    assert peer_order([JPEGBaseline8Bit, ImplicitVRLittleEndian], ours)[:2] == [
        ImplicitVRLittleEndian,
        JPEGBaseline8Bit,
    ]
