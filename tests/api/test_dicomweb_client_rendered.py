"""Rendered images and frames with the real dicomweb-client (PyPI), unmodified, against a live server.

dicomweb-client 0.61 has retrieve_series_rendered, retrieve_instance_rendered and
retrieve_instance_frames_rendered (no study-level rendered or thumbnail call; those are
tested over plain HTTP in test_dicomweb_rendered.py). Expected pictures and frame bytes
come from pydicom (tests/dicomweb/cases.py and ``pydicom.encaps.get_frame``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.encaps import get_frame
from pydicom.uid import DeflatedExplicitVRLittleEndian, generate_uid

from ria.archive import Archive
from tests.api.conftest import LiveServer
from tests.dicomweb.cases import (
    COLLECTION,
    decoded,
    expected,
    file_in,
    fresh_uids,
    read,
    refragmented,
    reread,
)


@pytest.fixture
def dicomweb(server: LiveServer) -> Iterator[DICOMwebClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = DICOMwebClient(url=f"{server.url}/dicomweb/collections/{COLLECTION}")
    yield client


def test_retrieve_series_rendered_is_the_middle_image(
    dicomweb: DICOMwebClient, archive: Archive, tmp_path: Path
) -> None:
    study, series = generate_uid(), generate_uid()
    filed = []
    for number, name in enumerate(("CT_small.dcm", "MR_small.dcm", "emri_small.dcm"), start=1):
        ds = read(name)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study, series, number
        filed.append(file_in(archive, tmp_path, ds))
    picture = dicomweb.retrieve_series_rendered(study, series, media_types=("image/png",))
    assert np.array_equal(decoded(picture), expected(reread(archive, filed[1])))
    jpeg = dicomweb.retrieve_series_rendered(
        study, series, media_types=("image/jpeg",), params={"quality": 95}
    )
    assert np.abs(decoded(jpeg).astype(int) - expected(reread(archive, filed[1]))).mean() < 2


def test_retrieve_instance_and_frames_rendered(
    dicomweb: DICOMwebClient, archive: Archive, tmp_path: Path
) -> None:
    stored = file_in(archive, tmp_path, read("OBXXXX1A_rle_2frame.dcm"))  # PALETTE COLOR, RLE
    ds = reread(archive, stored)
    uids = (stored.study_instance_uid, stored.series_instance_uid, stored.sop_instance_uid)
    first = dicomweb.retrieve_instance_rendered(*uids, media_types=("image/png",))
    assert np.array_equal(decoded(first), expected(ds, 0))
    second = dicomweb.retrieve_instance_frames_rendered(*uids, frame_numbers=[2], media_types=("image/png",))
    assert np.array_equal(decoded(second), expected(ds, 1))


@pytest.mark.parametrize("extended", [True, False], ids=["extended offset table", "fragments, no table"])
def test_retrieve_frames_the_basic_offset_table_cannot_find(
    dicomweb: DICOMwebClient, archive: Archive, tmp_path: Path, extended: bool
) -> None:
    stored = file_in(archive, tmp_path, refragmented("emri_small_jpeg_2k_lossless.dcm", extended=extended))
    ds = reread(archive, stored)
    table = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths) if extended else None
    uids = (stored.study_instance_uid, stored.series_instance_uid, stored.sop_instance_uid)
    frames = dicomweb.retrieve_instance_frames(*uids, frame_numbers=[2, 10])
    assert frames == [get_frame(ds.PixelData, i, number_of_frames=10, extended_offsets=table) for i in (1, 9)]
    picture = dicomweb.retrieve_instance_frames_rendered(
        *uids, frame_numbers=[10], media_types=("image/png",)
    )
    assert np.array_equal(decoded(picture), expected(ds, 9))


def test_retrieve_frames_of_a_deflated_instance(
    dicomweb: DICOMwebClient, archive: Archive, tmp_path: Path
) -> None:
    original = fresh_uids(read("emri_small.dcm"))
    original.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    stored = file_in(archive, tmp_path, original)
    ds = reread(archive, stored)
    uids = (stored.study_instance_uid, stored.series_instance_uid, stored.sop_instance_uid)
    size = ds.Rows * ds.Columns * ds.BitsAllocated // 8
    frames = dicomweb.retrieve_instance_frames(*uids, frame_numbers=[1, 7])
    assert frames == [ds.PixelData[0:size], ds.PixelData[6 * size : 7 * size]]
    picture = dicomweb.retrieve_instance_frames_rendered(*uids, frame_numbers=[7], media_types=("image/png",))
    assert np.array_equal(decoded(picture), expected(ds, 6))
