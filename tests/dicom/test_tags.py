"""DICOM headers flattened to TCIA's getDicomTags rows, checked against pydicom's own walk."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from ria.dicom.tags import read_tag_rows
from ria.errors import InvalidDicomError


def _file(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None
    return Path(path)


def _expected(ds: Dataset, depth: int = 0) -> list[tuple[str, str]]:
    """(element, name) pairs walked independently: SQ row, its items' rows one level deeper, End row."""
    rows: list[tuple[str, str]] = []
    for element in ds:
        if element.tag == 0x7FE00010:
            break
        tag = ">" * depth + f"({element.tag.group:04X},{element.tag.element:04X})"
        rows.append((tag, element.name))
        if element.VR == "SQ":
            for item in element.value:
                rows.extend(_expected(item, depth + 1))
            rows.append((tag, f"End {element.name}"))
    return rows


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm", "waveform_ecg.dcm"])
def test_rows_follow_the_dataset_and_its_sequences(name: str) -> None:
    ds = pydicom.dcmread(_file(name), stop_before_pixels=True)
    rows = read_tag_rows(_file(name))
    expected = _expected(ds.file_meta) + _expected(ds)
    assert [(row.element, row.name) for row in rows] == expected


def test_values_are_text_and_bulk_data_is_elided() -> None:
    rows = {row.element: row for row in read_tag_rows(_file("CT_small.dcm"))}
    ds = pydicom.dcmread(_file("CT_small.dcm"))
    assert rows["(0008,0060)"].data == ds.Modality
    assert rows["(0028,0030)"].data == "\\".join(str(v) for v in ds.PixelSpacing)
    assert rows["(0002,0001)"].data == "..."  # OB
    assert "(7FE0,0010)" not in rows


def test_nested_sequences_get_one_marker_per_level() -> None:
    rows = read_tag_rows(_file("rtplan.dcm"))
    deepest = max(row.element.count(">") for row in rows)
    assert deepest >= 2
    assert any(row.name.startswith("End ") for row in rows)


def test_streams_are_read_as_streams() -> None:
    data = _file("CT_small.dcm").read_bytes()
    buffered = io.BufferedReader(io.BytesIO(data))
    assert read_tag_rows(buffered) == read_tag_rows(_file("CT_small.dcm"))


def test_not_dicom_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.dcm"
    path.write_bytes(b"hello")
    with pytest.raises(InvalidDicomError, match="cannot read DICOM header"):
        read_tag_rows(path)
