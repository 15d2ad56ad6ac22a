"""Real pydicom test files filed in a real archive, and what pydicom itself says their pictures are.

The oracle is pydicom's own pipeline, called here independently of Ria's code path:
``Dataset.pixel_array`` (which converts YBR to RGB by itself), ``apply_modality_lut``,
``apply_voi_lut``/``apply_windowing`` on a copy of the file's own VOI module, and
``apply_color_lut``. The only choices of Ria's it repeats are documented ones: the
picture is 8 bits deep (a window's output range is 0..255; deeper LUT and colour values
keep their high byte), a frame with no window is shown through a linear window spanning
its modality values, and MONOCHROME1 is inverted.
"""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, encapsulate_extended, generate_frames
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut, apply_windowing
from pydicom.uid import generate_uid

from ria.access import OPERATOR
from ria.archive import Archive
from ria.dicomweb.wado import StoredInstance, select_instances
from ria.sample import find_test_file

COLLECTION = "TCGA-LUAD"
PATIENT = "TCGA-05-4244"


def read(name: str) -> Dataset:
    """A pydicom test file (pydicom's own or pydicom-data's, never downloaded), read whole."""
    path = find_test_file(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def file_in(archive: Archive, folder: Path, ds: Dataset) -> StoredInstance:
    """``ds`` ingested into the archive as a site would send it (a TCGA patient), and where it is stored."""
    ds.PatientID = PATIENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ds.SOPInstanceUID}.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path, enforce_file_format=True)
    report = archive.ingest([path], collection=COLLECTION)
    assert report.ingested == 1, report.summary()
    (stored,) = select_instances(
        archive,
        str(ds.StudyInstanceUID),
        str(ds.SeriesInstanceUID),
        str(ds.SOPInstanceUID),
        principal=OPERATOR,
    )
    return stored


def reread(archive: Archive, stored: StoredInstance) -> Dataset:
    """The stored file as pydicom reads it (what the oracle works from)."""
    with archive.store.open(stored.blob_key) as stream, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(stream.read()))


def fresh_uids(ds: Dataset) -> Dataset:
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def refragmented(name: str, *, extended: bool) -> Dataset:
    """A real multi-frame compressed file re-encapsulated by pydicom.

    ``extended``: one fragment per frame with an Extended Offset Table (and an empty Basic
    one, PS3.5 A.4); else three fragments per frame and no offset table at all.
    """
    ds = fresh_uids(read(name))
    frames = list(generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)))
    if extended:
        data, offsets, lengths = encapsulate_extended(frames)
        ds.PixelData = data
        ds.ExtendedOffsetTable = offsets
        ds.ExtendedOffsetTableLengths = lengths
    else:
        ds.PixelData = encapsulate(frames, fragments_per_frame=3, has_bot=False)
    ds["PixelData"].VR = "OB"
    return ds


def _display(ds: Dataset) -> Dataset:
    """The file's own VOI module, with an 8-bit output range and no Modality LUT left to apply."""
    voi = copy.deepcopy(ds)
    for keyword in ("RescaleSlope", "RescaleIntercept", "ModalityLUTSequence", "PixelData"):
        if keyword in voi:
            delattr(voi, keyword)
    voi.BitsStored, voi.PixelRepresentation = 8, 0
    return voi


def _high_byte(values: np.ndarray, depth: int) -> np.ndarray:
    return (values >> (depth - 8) if depth > 8 else values).astype(np.uint8)


def expected(ds: Dataset, index: int = 0, window: tuple[str, str, str] | None = None) -> np.ndarray:
    """The 8-bit picture of frame ``index`` (0-based), computed with pydicom's functions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixels = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        pixels = pixels[index]
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        return _high_byte(apply_color_lut(pixels, ds), int(ds.RedPaletteColorLookupTableDescriptor[2]))
    if int(ds.SamplesPerPixel) > 1:
        return _high_byte(pixels, int(ds.BitsStored))
    values = apply_modality_lut(pixels, ds)
    voi = _display(ds)
    if window is not None:
        voi.WindowCenter, voi.WindowWidth, voi.VOILUTFunction = window
        if "VOILUTSequence" in voi:
            del voi.VOILUTSequence
    elif "VOILUTSequence" in ds:
        shown = apply_voi_lut(values, ds)
        return _finish(ds, _high_byte(shown, int(ds.VOILUTSequence[0].LUTDescriptor[2])))
    elif "WindowCenter" not in ds:
        low, high = float(values.min()), float(values.max())
        voi.WindowCenter, voi.WindowWidth = (low + high) / 2 + 0.5, high - low + 1
    return _finish(ds, np.rint(apply_windowing(values, voi)).astype(np.uint8))


def _finish(ds: Dataset, picture: np.ndarray) -> np.ndarray:
    return 255 - picture if ds.PhotometricInterpretation == "MONOCHROME1" else picture


def decoded(data: bytes) -> np.ndarray:
    """A PNG's pixels, as a client decodes them."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))
