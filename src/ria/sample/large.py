"""One very large, real DICOM instance written without holding its pixels in memory.

Memory tests and benchmarks need an instance of hundreds of megabytes (a long
multi-frame acquisition) to prove that storing and serving it costs a fixed amount
of memory. Building it with pydicom the usual way would itself hold every pixel,
so the header comes from a real sample (pydicom's ``CT_small.dcm``) and the Pixel
Data element is appended by hand, its bytes streamed to disk in blocks.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ria.sample.corpus import find_test_file

__all__ = ["LargeInstance", "write_large_instance"]

_BLOCK = 1 << 20
_ROWS = _COLUMNS = 512
_FRAME_BYTES = _ROWS * _COLUMNS * 2


@dataclass(frozen=True)
class LargeInstance:
    """The file written and what a store of it must give back."""

    path: Path
    size: int
    sha256: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str


def write_large_instance(path: Path, pixel_bytes: int, *, patient_id: str = "TCGA-LG-0001") -> LargeInstance:
    """A multi-frame 512x512 16-bit CT of about ``pixel_bytes`` of pixel data (whole frames).

    The header is ``CT_small.dcm``'s with fresh UIDs; the pixels are random, so no
    layer (compression, deduplication) can make the file cheaper than its size.
    """
    frames = max(1, -(-pixel_bytes // _FRAME_BYTES))
    length = frames * _FRAME_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(find_test_file("CT_small.dcm"))
    del ds.PixelData
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = (generate_uid() for _ in range(3))
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PatientID = ds.PatientName = patient_id
    ds.Rows, ds.Columns, ds.NumberOfFrames = _ROWS, _COLUMNS, frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    header = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(header, enforce_file_format=True)
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for piece in (header.getvalue(), struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, length)):
            out.write(piece)
            digest.update(piece)
        remaining = length
        while remaining:
            block = os.urandom(min(_BLOCK, remaining))
            out.write(block)
            digest.update(block)
            remaining -= len(block)
    return LargeInstance(
        path,
        path.stat().st_size,
        digest.hexdigest(),
        str(ds.StudyInstanceUID),
        str(ds.SeriesInstanceUID),
        str(ds.SOPInstanceUID),
    )
