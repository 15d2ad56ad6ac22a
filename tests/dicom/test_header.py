"""Header reading on real DICOM: what pydicom reads independently is what Ria catalogues."""

from __future__ import annotations

import datetime as dt
import io
import warnings
from pathlib import Path

import pydicom
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ria.dicom import derive_uid, is_valid_uid, read_instance_header
from ria.errors import InvalidDicomError
from ria.sample import find_test_file

REAL_FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm",
    "693_J2KI.dcm",
    "examples_overlay.dcm",
]


def _independent(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


CHARSET_FILES = sorted(
    p.name
    for p in (Path(pydicom.data.__file__).parent / "charset_files").glob("chr*.dcm")
    if "SQ" not in p.name
)
TEXT_FIELDS = {
    "patient_name": "PatientName",
    "patient_sex": "PatientSex",
    "patient_age": "PatientAge",
    "ethnic_group": "EthnicGroup",
    "study_description": "StudyDescription",
    "study_id": "StudyID",
    "accession_number": "AccessionNumber",
    "modality": "Modality",
    "protocol_name": "ProtocolName",
    "series_description": "SeriesDescription",
    "body_part_examined": "BodyPartExamined",
    "manufacturer": "Manufacturer",
    "manufacturer_model_name": "ManufacturerModelName",
    "software_versions": "SoftwareVersions",
}


def _pydicom_text(ds: pydicom.Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = "\\".join(str(v) for v in value) if isinstance(value, pydicom.multival.MultiValue) else str(value)
    return text.strip(" \x00") or None


@pytest.mark.parametrize(
    "path",
    [find_test_file(n) for n in REAL_FILES]
    + [Path(pydicom.data.__file__).parent / "charset_files" / n for n in CHARSET_FILES],
    ids=lambda p: p.name,
)
def test_header_matches_a_full_pydicom_read(path: Path) -> None:
    ds = _independent(path)
    header = read_instance_header(path)
    assert header.sop_instance_uid == ds.SOPInstanceUID
    assert header.sop_class_uid == ds.SOPClassUID
    assert header.study_instance_uid == ds.StudyInstanceUID
    assert header.series_instance_uid == ds.SeriesInstanceUID
    assert header.patient_id == ds.PatientID
    assert header.transfer_syntax_uid == ds.file_meta.TransferSyntaxUID
    for field, keyword in TEXT_FIELDS.items():
        assert getattr(header, field) == _pydicom_text(ds, keyword), keyword
    if ds.get("InstanceNumber") not in (None, ""):
        assert header.instance_number == int(ds.InstanceNumber)
    if ds.get("SeriesNumber") not in (None, ""):
        assert header.series_number == int(ds.SeriesNumber)
    for field, keyword in (("study_date", "StudyDate"), ("series_date", "SeriesDate")):
        text = str(ds.get(keyword) or "")
        expected = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) >= 8 else None
        assert getattr(header, field) == expected, keyword


def test_non_latin_names_are_decoded_as_pydicom_decodes_them() -> None:
    folder = Path(pydicom.data.__file__).parent / "charset_files"
    assert read_instance_header(folder / "chrX1.dcm").patient_name == "Wang^XiaoDong=王^小東"
    assert read_instance_header(folder / "chrH31.dcm").patient_name == "Yamada^Tarou=山田^太郎=やまだ^たろう"


def test_ct_small_known_values() -> None:
    header = read_instance_header(find_test_file("CT_small.dcm"))
    assert header.modality == "CT"
    assert header.manufacturer == "GE MEDICAL SYSTEMS"
    assert header.study_date == dt.date(2004, 1, 19)


def test_real_truncated_file_is_rejected() -> None:
    with pytest.raises(InvalidDicomError, match="truncated"):
        read_instance_header(find_test_file("MR_truncated.dcm"))


_LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def _element_boundaries(data: bytes) -> set[int]:
    """Offsets where a top-level element starts, or the data set ends, from pydicom's own parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data))
    starts = set()
    for element in ds._dict.values():
        tell = getattr(element, "value_tell", None) or getattr(element, "file_tell", None)
        assert isinstance(tell, int)
        long_form = not ds.is_implicit_VR and element.VR in _LONG_VRS
        starts.add(tell - (12 if long_form else 8))
    return starts | {len(data)}


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "MR_small_jp2klossless.dcm",
    ],
)
def test_every_cut_that_is_not_an_element_boundary_is_rejected(name: str) -> None:
    """A cut between two elements leaves a valid, shorter file; any other cut must be caught."""
    data = find_test_file(name).read_bytes()
    boundaries = _element_boundaries(data)
    accepted = []
    for cut in range(1, len(data), 3):
        try:
            read_instance_header(io.BytesIO(data[:cut]))
        except InvalidDicomError:
            continue
        accepted.append(cut)
    assert [cut for cut in accepted if cut not in boundaries] == []


def test_a_deflated_file_is_read_and_a_cut_one_rejected() -> None:
    path = find_test_file("image_dfl.dcm")  # a real deflated file, with an empty PatientID
    with pytest.raises(InvalidDicomError, match="PatientID"):  # parsed to the end, not "truncated"
        read_instance_header(path)
    with pytest.raises(InvalidDicomError, match=r"unreadable|truncated"):
        read_instance_header(io.BytesIO(path.read_bytes()[:-200]))


def test_non_dicom_and_empty_files_are_rejected(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello" * 100)
    with pytest.raises(InvalidDicomError, match="DICM"):
        read_instance_header(text_file)
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(InvalidDicomError, match="empty"):
        read_instance_header(empty)


def test_headerless_dataset_is_rejected(tmp_path: Path) -> None:
    """A raw data set without preamble/File Meta (readable with force=True) is not accepted."""
    ds = _independent(find_test_file("CT_small.dcm"))
    del ds.file_meta
    ds.preamble = None
    headerless = tmp_path / "headerless.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(headerless, enforce_file_format=False, implicit_vr=True, little_endian=True)
        assert (
            pydicom.dcmread(headerless, force=True).SOPInstanceUID == ds.SOPInstanceUID
        )  # pydicom reads it...
    assert headerless.read_bytes()[128:132] != b"DICM"
    with pytest.raises(InvalidDicomError, match="Part 10"):
        read_instance_header(headerless)  # ...but Ria requires a Part 10 header


def test_missing_sop_instance_uid_is_rejected(tmp_path: Path) -> None:
    ds = _independent(find_test_file("CT_small.dcm"))
    del ds.SOPInstanceUID
    path = tmp_path / "nouid.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path, enforce_file_format=True)
    with pytest.raises(InvalidDicomError, match="missing SOPInstanceUID"):
        read_instance_header(path)


def test_invalid_uid_is_rejected(tmp_path: Path) -> None:
    ds = _independent(find_test_file("CT_small.dcm"))
    path = tmp_path / "baduid.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.SeriesInstanceUID = "1.2.3.../etc"
        ds.save_as(path, enforce_file_format=True)
    with pytest.raises(InvalidDicomError, match="SeriesInstanceUID"):
        read_instance_header(path)


@given(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=4))
def test_derived_uids_are_valid_and_deterministic(parts: list[str]) -> None:
    uid = derive_uid(*parts)
    assert is_valid_uid(uid, strict=True)
    assert uid == derive_uid(*parts)
    assert pydicom.uid.UID(uid).is_valid


@given(st.text(max_size=80))
def test_uid_validation_agrees_with_pydicom_in_strict_mode(value: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        uid = pydicom.uid.UID(value)  # pydicom strips padding spaces; so does Ria's reader
    assert is_valid_uid(str(uid), strict=True) == uid.is_valid


def test_lenient_mode_accepts_leading_zero_components() -> None:
    assert is_valid_uid("1.2.840.0113654.1")
    assert not is_valid_uid("1.2.840.0113654.1", strict=True)
    assert not is_valid_uid("1.2.a")
    assert not is_valid_uid("1." * 40)
