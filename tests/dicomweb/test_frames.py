"""WADO-RS frames located in the stored bytes: each frame is the one pydicom's ``encaps.get_frame`` reads.

Cases the Basic Offset Table alone cannot answer: an Extended Offset Table, several
fragments per frame without any table (pydicom finds the JPEG 2000 end markers), and a
deflated file, whose frames are cut from the inflated pixel data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames, get_frame
from pydicom.uid import DeflatedExplicitVRLittleEndian

from ria.archive import Archive
from ria.dicomweb.wado import frame_layout, iter_frame
from ria.errors import NotAcceptableError
from tests.dicomweb.cases import file_in, fresh_uids, read, refragmented, reread

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def _frames(archive: Archive, folder: Path, ds: Dataset) -> tuple[Dataset, list[bytes], str]:
    stored = file_in(archive, folder, ds)
    layout = frame_layout(archive, stored)
    frames = [b"".join(iter_frame(archive, stored, spans)) for spans in layout.spans]
    return reread(archive, stored), frames, layout.transfer_syntax


@pytest.mark.parametrize("extended", [True, False], ids=["extended offset table", "fragments, no table"])
def test_encapsulated_frames_are_pydicoms(archive: Archive, tmp_path: Path, extended: bool) -> None:
    ds, frames, syntax = _frames(
        archive, tmp_path, refragmented("emri_small_jpeg_2k_lossless.dcm", extended=extended)
    )
    assert len(frames) == int(ds.NumberOfFrames) == 10
    assert syntax == ds.file_meta.TransferSyntaxUID
    table = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths) if extended else None
    for index, frame in enumerate(frames):
        assert frame == get_frame(ds.PixelData, index, number_of_frames=10, extended_offsets=table)
        assert frame.rstrip(b"\0").endswith(b"\xff\xd9")  # a whole JPEG 2000 codestream each


def test_basic_offset_table_frames_are_pydicoms(archive: Archive, tmp_path: Path) -> None:
    ds, frames, _syntax = _frames(archive, tmp_path, read("color3d_jpeg_baseline.dcm"))
    assert len(frames) == 120
    for index in (0, 59, 119):
        assert frames[index] == get_frame(ds.PixelData, index, number_of_frames=120)


@pytest.mark.parametrize("name", ["image_dfl.dcm", "emri_small.dcm"])
def test_deflated_frames_are_the_inflated_pixels(archive: Archive, tmp_path: Path, name: str) -> None:
    original = fresh_uids(read(name))
    original.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian  # emri_small: pydicom deflates it
    ds, frames, syntax = _frames(archive, tmp_path, original)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    assert syntax == EXPLICIT_LE  # the frames themselves are native little endian
    size = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
    assert len(frames) == int(ds.get("NumberOfFrames", 1) or 1)
    assert b"".join(frames) == ds.PixelData[: size * len(frames)]


def test_fragments_that_no_marker_divides_are_refused(archive: Archive, tmp_path: Path) -> None:
    """RLE frames in two fragments each, no table: there is nothing to find frame boundaries by (406)."""
    ds = fresh_uids(read("emri_small_RLE.dcm"))
    whole = list(generate_frames(ds.PixelData, number_of_frames=10))
    ds.PixelData = encapsulate(whole, fragments_per_frame=2, has_bot=False)
    stored = file_in(archive, tmp_path, ds)
    with pytest.raises(NotAcceptableError, match="frame boundaries"):
        frame_layout(archive, stored)
