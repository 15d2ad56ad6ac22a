"""A DICOM header as a flat table of (element, name, data) rows — TCIA's getDicomTags shape.

Sequences are flattened: the sequence's own row, then each item's elements
with one more ``>`` in front of the tag, then a closing row ``End <name>``
under the same tag — the layout TCIA's clients search (``tcia_utils`` finds a
segmentation's source series by looking for ``>(0008,114A)`` followed by
``>(0020,000E)``). Pixel data and other bulk binary values are shown as ``...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError as PydicomInvalidDicomError

from ria.dicom.streams import PlainStream
from ria.errors import InvalidDicomError

__all__ = ["TagRow", "iter_tag_rows", "read_tag_rows"]

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_ELIDED = "..."


@dataclass(frozen=True, slots=True)
class TagRow:
    element: str
    name: str
    data: str | None


def _data(element: DataElement) -> str | None:
    if element.tag.group >= 0x6000 or element.VR in _BINARY_VRS:
        return _ELIDED
    value = element.value
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        return _ELIDED
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(item) for item in value)
    return str(value)


def iter_tag_rows(dataset: Dataset, depth: int = 0) -> Iterator[TagRow]:
    """Rows for ``dataset``'s elements, sequences flattened, stopping before pixel data."""
    prefix = ">" * depth
    for element in dataset:
        tag = f"{prefix}({element.tag.group:04X},{element.tag.element:04X})"
        if element.tag == 0x7FE00010:
            return
        if element.VR == "SQ":
            name = element.name
            yield TagRow(tag, name, None)
            for item in element.value:
                yield from iter_tag_rows(item, depth + 1)
            yield TagRow(tag, f"End {name}", None)
        else:
            yield TagRow(tag, element.name, _data(element))


def read_tag_rows(source: Path | str | BinaryIO) -> list[TagRow]:
    """File meta rows, then the dataset's, for one DICOM file."""
    readable = source if isinstance(source, Path | str) else PlainStream(source)
    try:
        dataset = pydicom.dcmread(readable, stop_before_pixels=True)
    except (PydicomInvalidDicomError, EOFError, ValueError) as exc:
        raise InvalidDicomError(f"cannot read DICOM header: {exc}") from exc
    rows = list(iter_tag_rows(dataset.file_meta)) if dataset.file_meta else []
    rows.extend(iter_tag_rows(dataset))
    return rows
