"""Plant PHI into real DICOM files, and scan bytes for any of it: the proof that de-identification works.

Planting is driven by PS3.15 Table E.1-1 itself: every attribute of the table that
the chosen profile does not keep gets a unique marker value of its own VR. Markers
also go into sequences (ones the profile removes and ones it keeps and walks),
private blocks and free-text descriptors (the patient's name and MRN, which
"clean" must cut out). A scanner then looks for every marker in the output bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ria.deid.profiles import Profile
from ria.deid.table import Code, default_table

# Markers of these VRs can be found verbatim in the output bytes.
TEXT_VRS = frozenset({"AE", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT", "UI"})
NAME = "Zyxwvuts^Qponmlk"
MRN = "MRN7741239"
# Set by the planter itself (identity is mapped, not emptied) — not markers to search for.
MAPPED = {0x00100010, 0x00100020}


@dataclass
class Planted:
    """Markers planted in one data set: marker text → where it was put (for failure messages)."""

    markers: dict[str, str] = field(default_factory=dict)

    def add(self, value: str, where: str) -> str:
        self.markers[value] = where
        return value


class Markers:
    """Unique marker values of each VR, distinct from anything in the source files."""

    def __init__(self, seed: int = 0) -> None:
        self._n = itertools.count(1 + seed * 100_000)

    @staticmethod
    def _day(n: int) -> str:
        # All date markers fall within one year: a shifted date (always at least a year
        # earlier, see MIN_SHIFT_DAYS) can then never coincide with another marker.
        return (dt.date(1990, 1, 1) + dt.timedelta(days=n % 360)).strftime("%Y%m%d")

    def value(self, vr: str) -> str:
        n = next(self._n)
        if vr == "DA":
            return self._day(n)
        if vr == "TM":
            return f"{n % 24:02d}{n % 60:02d}{(n * 7) % 60:02d}.{n % 1_000_000:06d}"
        if vr == "DT":
            date = self._day(n)
            return f"{date}{n % 24:02d}{n % 60:02d}{(n * 7) % 60:02d}.{n % 1_000_000:06d}"
        if vr == "UI":
            return f"1.2.826.0.1.3680043.10.543.{n}"
        if vr in ("CS", "AE"):
            return f"PHI{n:09d}"[:16]
        if vr == "PN":
            return f"Phi{n:06d}^Given{n:06d}"
        if vr in ("SH",):
            return f"phi-{n:09d}"[:16]
        return f"phi-marker-{n:09d}"


def plant(ds: Dataset, profile: Profile, markers: Markers) -> Planted:
    """Put a marker in every table attribute ``profile`` does not keep, plus sequences and private tags."""
    planted = Planted()
    ds.PatientName = NAME
    ds.PatientID = MRN
    planted.add(NAME.split("^")[0], "PatientName")
    planted.add(MRN, "PatientID")
    for row in default_table().rows:
        tag = row.tag.exact
        if tag is None or tag in MAPPED or tag >> 16 in (0x0000, 0x0002, 0x0004, 0x7FE0):
            continue
        try:
            vr = dictionary_VR(tag)
            keyword = keyword_for_tag(tag)
        except KeyError:
            continue
        if vr not in TEXT_VRS or not keyword:
            continue
        code = profile.action(tag, vr)
        if code is Code.K:
            continue
        if code is Code.C and vr in ("TM", "CS", "AE", "UI"):
            continue  # cleaning keeps times of day (dates move) and coded values: nothing to plant
        if code is Code.C and vr not in ("DA", "DT"):
            # Cleaning must cut the patient's identifiers out of the text it keeps.
            value = MRN if vr == "SH" else f"seen {NAME.replace('^', ' ')} {MRN}"
            ds.add_new(tag, vr, value)
            continue
        value = markers.value(vr)
        ds.add_new(tag, vr, value)
        planted.add(value, keyword)
    # A sequence the profile removes, holding more identifiers.
    removed = Dataset()
    removed.PatientName = "Hidden^Person"
    removed.PatientID = planted.add(markers.value("LO"), "ReferencedPatientSequence > PatientID")
    planted.add("Hidden", "ReferencedPatientSequence > PatientName")
    ds.ReferencedPatientSequence = Sequence([removed])
    # A sequence Ria keeps and walks (not in the table): identifiers nested inside must still go.
    kept = Dataset()
    kept.CodeValue = "T-D3000"
    kept.CodingSchemeDesignator = "SRT"
    kept.CodeMeaning = "Chest"
    kept.OperatorsName = planted.add(markers.value("PN"), "AnatomicRegionSequence > OperatorsName")
    kept.InstitutionName = planted.add(markers.value("LO"), "AnatomicRegionSequence > InstitutionName")
    deeper = Dataset()
    deeper.AccessionNumber = planted.add(markers.value("SH"), "AnatomicRegionSequence > > AccessionNumber")
    kept.AnatomicRegionModifierSequence = Sequence([deeper])
    ds.AnatomicRegionSequence = Sequence([kept])
    # A private block (no safelist: all of it must go).
    block = ds.private_block(0x0029, "ACME PHI STORE", create=True)
    block.add_new(0x10, "LO", planted.add(markers.value("LO"), "private (0029,xx10)"))
    block.add_new(0x11, "PN", planted.add(markers.value("PN"), "private (0029,xx11)"))
    # The table's U rows planted new Study/Series/SOP Instance UIDs: the file meta follows.
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return planted


def survivors(data: bytes, planted: Planted) -> dict[str, str]:
    """Markers found anywhere in ``data`` (as written, or upper-cased), with where they were put.

    An all-digit marker (a date) does not count inside a UID (after a digit or a dot): new
    UIDs are long random numbers that contain any eight digits now and then, which is not
    a leak. A stored date value follows its length field or a backslash, never those.
    """
    found: dict[str, str] = {}
    for marker, where in planted.markers.items():
        for encoded in (marker.encode("utf-8"), marker.upper().encode("ascii", "ignore")):
            if not encoded:
                continue
            if encoded.isdigit():
                if re.search(rb"(?<![0-9.])" + re.escape(encoded), data):
                    found[marker] = where
            elif encoded in data:
                found[marker] = where
    return found


def real_files() -> Iterator[Path]:
    """pydicom's bundled files that are Part 10 with pixel data (the realistic case)."""
    from pydicom.data import get_testdata_file

    for name in ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "waveform_ecg.dcm", "JPEG2000.dcm"):
        path = get_testdata_file(name)
        if path is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        if ds.get("PatientID") is not None:
            yield Path(path)


def read_dataset(data: bytes | Path) -> Dataset:
    """A file or encoded bytes, parsed with pydicom's warnings off: the samples carry odd values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data) if isinstance(data, bytes) else data)


def dataset_bytes(ds: Dataset) -> bytes:
    """``ds`` as a Part 10 file's bytes, with pydicom's warnings about the odd values off."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
