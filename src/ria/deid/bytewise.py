"""De-identification straight on the bytes of explicit VR little-endian files.

Why a second path: building a pydicom data set, converting the elements a profile
changes and writing the result costs several times what plain ingest spends on a
file, and almost every file an archive receives is explicit VR little endian with
plain-ASCII text. This path walks a file's elements once, copies every kept
element's bytes as they are, encodes the few it changes, and takes each action
from the same decisions as :class:`~ria.deid.engine.Deidentifier`'s pydicom path —
so it does what that path does, which a differential test checks file by file.

Anything it is not sure of — another transfer syntax or character set, non-ASCII
text it would have to read, unsorted or repeated tags, a value running past the
end of the file, an unusual private block — makes it step aside
(:class:`StepAside`) and the pydicom path, with its exact refusals for broken
files, takes the file.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import UID

from ria.deid.mapping import Replacements
from ria.deid.rules import (
    BINARY_NUMBER_VRS,
    TEXT_VRS,
    burned_in,
    dummy_value,
    identifier_needles,
    remove_identifier,
)
from ria.dicom.header import PREAMBLE_LENGTH, InstanceHeader, dataset_header

__all__ = ["Decide", "Rewritten", "StepAside", "rewrite"]

Decide = Callable[[int, str, "str | None"], tuple[str, str]]
"""(tag, VR, private creator) -> (action code, report label), as the pydicom path decides."""

_HEAD = struct.Struct("<HH2sH")
_TAG = struct.Struct("<HH")
_U32 = struct.Struct("<I")
_LONG_HEADER_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_VRS = _LONG_HEADER_VRS | {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN"}
_VRS |= {"SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"}
_PACKED_ZERO = {
    "US": "<H",
    "SS": "<h",
    "UL": "<I",
    "SL": "<i",
    "FL": "<f",
    "FD": "<d",
    "UV": "<Q",
    "SV": "<q",
}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_ITEM_START = b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
_ITEM_DELIMITER = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
_SINGLE_VALUE_TEXT = frozenset({"LT", "ST", "UT", "UR"})
_PLAIN_CHARSETS = frozenset({"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192"})

PATIENT_ID, PATIENT_NAME = 0x00100020, 0x00100010
_IDENTITY_REMOVED, _METHOD, _METHOD_CODES = 0x00120062, 0x00120063, 0x00120064
_TEMPORAL_MODIFIED = 0x00280303
PIXEL_DATA = 0x7FE00010
_MANUFACTURER, _MODEL = 0x00080070, 0x00081090
_TOP_HANDLED = frozenset({PATIENT_ID, PATIENT_NAME, _IDENTITY_REMOVED, _METHOD, _METHOD_CODES})
_CHARSET, _SOP_CLASS, _SOP_INSTANCE, _MODALITY, _BURNED_IN = (
    0x00080005,
    0x00080016,
    0x00080018,
    0x00080060,
    0x00280301,
)
_IDENTIFIER_TAGS = {
    "PatientID": 0x00100020,
    "OtherPatientIDs": 0x00101000,
    "PatientBirthDate": 0x00100030,
    "AccessionNumber": 0x00080050,
    "PatientAddress": 0x00101040,
    "PatientTelephoneNumbers": 0x00102154,
    "MedicalRecordLocator": 0x00101090,
}
# What the catalogue's header reads (ria.dicom.header), besides File Meta: kept as values while writing.
_HEADER_TAGS = frozenset(
    tag_for_keyword(keyword) or 0
    for keyword in [
        "SpecificCharacterSet",
        "SOPInstanceUID",
        "SOPClassUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "PatientID",
        "PatientName",
        "PatientSex",
        "PatientAge",
        "PatientBirthDate",
        "EthnicGroup",
        "StudyDate",
        "StudyDescription",
        "StudyID",
        "AccessionNumber",
        "AdmittingDiagnosesDescription",
        "Modality",
        "ProtocolName",
        "SeriesDate",
        "SeriesDescription",
        "BodyPartExamined",
        "SeriesNumber",
        "Manufacturer",
        "ManufacturerModelName",
        "SoftwareVersions",
        "InstanceNumber",
        "AcquisitionNumber",
    ]
)
_META_DROPPED = frozenset({0x00020000, 0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102})
_META_REQUIRED = (0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013)
_TRANSFER_SYNTAX = 0x00020010
_SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5")
_SYNTAX_PREFIXES = ("1.2.840.10008.1.2.4.",)


class StepAside(Exception):
    """This file is not one the byte path handles with certainty: use the pydicom path."""


class _Element(NamedTuple):
    tag: int
    vr: str
    start: int
    value_start: int
    end: int


@dataclass
class Rewritten:
    """The de-identified file and what the catalogue and the report need to know of it."""

    data: bytes
    header: InstanceHeader
    quarantine: str | None
    actions: Counter[str] = field(default_factory=Counter)


# --- reading ---------------------------------------------------------------------------------


def _element(data: bytes, offset: int, limit: int) -> _Element:
    if offset + 8 > limit:
        raise StepAside("an element header runs past its end")
    group, number, vr_bytes, short = _HEAD.unpack_from(data, offset)
    vr = vr_bytes.decode("latin-1")
    if group == 0xFFFE or vr not in _VRS:
        raise StepAside("not an element with a standard VR")
    if vr in _LONG_HEADER_VRS:
        if offset + 12 > limit:
            raise StepAside("an element header runs past its end")
        length, value_start = _U32.unpack_from(data, offset + 8)[0], offset + 12
    else:
        length, value_start = short, offset + 8
    tag = (group << 16) | number
    if length != _UNDEFINED:
        end = value_start + length
        if end > limit:
            raise StepAside("a value runs past its end")
    elif vr == "SQ":
        end = _items(data, value_start, limit, undefined=True)[1]
    elif tag == PIXEL_DATA and vr in ("OB", "OW"):
        end = _fragments_end(data, value_start, limit)
    else:
        raise StepAside("an undefined-length value that is neither a sequence nor pixel data")
    return _Element(tag, vr, offset, value_start, end)


def _elements(data: bytes, offset: int, limit: int) -> list[_Element]:
    """Every element of one data set in ``data[offset:limit]``, which must be in ascending tag order."""
    found: list[_Element] = []
    previous = -1
    while offset < limit:
        element = _element(data, offset, limit)
        if element.tag <= previous:
            raise StepAside("tags out of order or repeated")
        previous = element.tag
        found.append(element)
        offset = element.end
    return found


def _item_header(data: bytes, offset: int, limit: int) -> tuple[int, int]:
    if offset + 8 > limit:
        raise StepAside("an item header runs past its end")
    group, number = _TAG.unpack_from(data, offset)
    return (group << 16) | number, _U32.unpack_from(data, offset + 4)[0]


def _fragments_end(data: bytes, offset: int, limit: int) -> int:
    while True:
        tag, length = _item_header(data, offset, limit)
        if tag == _SEQUENCE_END and length == 0:
            return offset + 8
        if tag != _ITEM or length == _UNDEFINED or offset + 8 + length > limit:
            raise StepAside("malformed encapsulated pixel data")
        offset += 8 + length


def _items(data: bytes, offset: int, limit: int, *, undefined: bool) -> tuple[list[tuple[int, int]], int]:
    """The (start, end) of each item's content in a sequence value, and where the value ends."""
    found: list[tuple[int, int]] = []
    while True:
        if not undefined and offset == limit:
            return found, offset
        tag, length = _item_header(data, offset, limit)
        if tag == _SEQUENCE_END and undefined and length == 0:
            return found, offset + 8
        if tag != _ITEM:
            raise StepAside("something other than an item inside a sequence")
        start = offset + 8
        if length != _UNDEFINED:
            if start + length > limit:
                raise StepAside("an item runs past its sequence")
            found.append((start, start + length))
            offset = start + length
            continue
        stop = start
        while True:
            item_tag, item_length = _item_header(data, stop, limit)
            if item_tag == _ITEM_END:
                if item_length != 0:
                    raise StepAside("an item delimiter with a length")
                break
            stop = _element(data, stop, limit).end
        found.append((start, stop))
        offset = stop + 8


def _text(value: bytes) -> str:
    """A value as pydicom reads text (trailing spaces and NULs dropped); ASCII only here."""
    if not value.isascii():
        raise StepAside("non-ASCII text")
    return value.decode("ascii").rstrip(" \x00")


# --- writing ---------------------------------------------------------------------------------


def _encode(tag: int, vr: str, value: bytes) -> bytes:
    head = _TAG.pack(tag >> 16, tag & 0xFFFF) + vr.encode("ascii")
    if vr in _LONG_HEADER_VRS:
        return head + b"\x00\x00" + _U32.pack(len(value)) + value
    if len(value) > 0xFFFF:
        raise StepAside("a value too long for its VR")
    return head + struct.pack("<H", len(value)) + value


def _padded(vr: str, text: str) -> bytes:
    encoded = text.encode("ascii")
    if len(encoded) % 2:
        encoded += b"\x00" if vr == "UI" else b" "
    return encoded


def _sequence(tag: int, items: Sequence[bytes]) -> bytes:
    parts = [_TAG.pack(tag >> 16, tag & 0xFFFF), b"SQ\x00\x00\xff\xff\xff\xff"]
    for item in items:
        parts += (_ITEM_START, item, _ITEM_DELIMITER)
    parts.append(_SEQUENCE_DELIMITER)
    return b"".join(parts)


def _dummy_bytes(vr: str) -> bytes:
    value = dummy_value(vr)
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return b"\x00\x00\x00\x00" if vr == "AT" else struct.pack(_PACKED_ZERO[vr], 0)
    return _padded(vr, value)


# --- the walk --------------------------------------------------------------------------------


class _Walk:
    """One file's rewrite: the profile's action for every element, at every depth."""

    def __init__(self, data: bytes, decide: Decide, replacements: Replacements, target: str) -> None:
        self.data = data
        self.view = memoryview(data)
        self.decide = decide
        self.replacements = replacements
        self.target = target
        self.scrub: list[str] = []

    def dataset(
        self, elements: list[_Element], labels: list[str], *, top: bool
    ) -> tuple[dict[int, bytes | memoryview], dict[int, tuple[str, bytes]]]:
        """The rewritten elements of one data set (top level or item), by tag, and the top level's
        values the catalogue's header reads. ``labels`` collects one report label per element."""
        view, decide, add_label = self.view, self.decide, labels.append
        out: dict[int, bytes | memoryview] = {}
        values: dict[int, tuple[str, bytes]] = {}
        creators: dict[int, str] = {}
        for element in elements:
            tag, vr = element.tag, element.vr
            if tag == PIXEL_DATA or (top and tag in _TOP_HANDLED):
                out[tag] = view[element.start : element.end]
                continue
            private = tag & 0x10000
            creator = self._creator(tag, element, creators) if private else None
            action, label = decide(tag, vr, creator)
            add_label(label)
            if action == "K" and vr != "SQ":
                encoded: bytes | memoryview | None = view[element.start : element.end]
            else:
                if vr == "UN" and action != "X":
                    raise StepAside("a value of unknown VR the profile changes")
                encoded = self._apply(element, action, labels)
            if private and 0x0010 <= tag & 0xFFFF <= 0x00FF:
                if action == "K":
                    creators[tag] = creator or ""
                elif action != "X":
                    raise StepAside("a private creator the profile changes")
            if encoded is None:
                continue
            if top:
                if tag & 0xFFFF == 0 and tag >> 16 > 6:
                    continue  # group lengths are retired and would be wrong after changes
                if tag in _HEADER_TAGS:
                    values[tag] = (vr, bytes(encoded[12 if vr in _LONG_HEADER_VRS else 8 :]))
            out[tag] = encoded
        return out, values

    def _creator(self, tag: int, element: _Element, creators: dict[int, str]) -> str | None:
        if not tag >> 16 & 1:
            return None
        number = tag & 0xFFFF
        if 0x0010 <= number <= 0x00FF:
            text = _text(element_value(self.data, element))
            if "\\" in text:
                raise StepAside("a multi-valued private creator")
            return text
        if number >> 8 < 0x10:
            raise StepAside("a private element outside any private block")
        return creators.get((tag & 0xFFFF0000) | (number >> 8))

    def _apply(self, element: _Element, action: str, labels: list[str]) -> bytes | None:
        tag, vr, data = element.tag, element.vr, self.data
        if action == "X":
            return None
        if vr == "SQ":
            if action in ("Z", "D"):
                return _sequence(tag, [])
            # K and U apply to the attributes inside; C cleans them without counting them.
            return _sequence(tag, self._items(element, labels if action in ("K", "U") else []))
        value = element_value(data, element)
        if action == "K":
            return data[element.start : element.end]
        if action == "Z":
            return _encode(tag, vr, b"")
        if action == "D":
            return _encode(tag, vr, self._new_uids(value) if vr == "UI" else _dummy_bytes(vr))
        if action == "U":
            return _encode(tag, vr, self._new_uids(value))
        if action == "C":
            cleaned = self._clean(vr, value)
            return data[element.start : element.end] if cleaned is None else _encode(tag, vr, cleaned)
        raise StepAside(f"an action this path does not know: {action}")

    def _items(self, element: _Element, labels: list[str]) -> list[bytes]:
        undefined = _U32.unpack_from(self.data, element.start + 8)[0] == _UNDEFINED
        spans, _end = _items(self.data, element.value_start, element.end, undefined=undefined)
        rewritten = []
        for start, stop in spans:
            out, _values = self.dataset(_elements(self.data, start, stop), labels, top=False)
            rewritten.append(b"".join(out[tag] for tag in sorted(out)))
        return rewritten

    def _new_uids(self, value: bytes) -> bytes:
        parts = _text(value).split("\\")
        return _padded("UI", "\\".join(self.replacements.uid(part) for part in parts if part.strip()))

    def _clean(self, vr: str, value: bytes) -> bytes | None:
        """PS3.15's C for one value: the new value, or ``None`` where cleaning leaves it as it is."""
        if vr in ("TM", "UI"):
            return None
        if vr in ("DA", "DT"):
            text = _text(value)
            if not text:
                return None
            shift = self.replacements.shift_date if vr == "DA" else self.replacements.shift_datetime
            return _padded(vr, "\\".join(shift(part, self.target) for part in text.split("\\")))
        if vr in TEXT_VRS:
            lowered = value.lower()
            if not value.isascii():
                raise StepAside("non-ASCII text to clean")
            if not any(needle.lower().encode("ascii") in lowered for needle in self.scrub):
                return None
            text = _text(value)
            if vr == "PN" or (vr not in _SINGLE_VALUE_TEXT and "\\" in text):
                return b""  # names and multi-valued text: emptied, as the pydicom path does
            for needle in self.scrub:
                text = remove_identifier(text, needle)
            return _padded(vr, text)
        if vr in ("OB", "OW", "UN"):
            return b""
        return None


def element_value(data: bytes, element: _Element) -> bytes:
    return data[element.value_start : element.end]


# --- the file --------------------------------------------------------------------------------


def _meta(data: bytes) -> tuple[dict[int, bytes], dict[int, bytes], int]:
    """The File Meta elements (encoded, and their values) and where the data set starts."""
    offset = PREAMBLE_LENGTH + 4
    encoded: dict[int, bytes] = {}
    values: dict[int, bytes] = {}
    while offset + 8 <= len(data) and _TAG.unpack_from(data, offset)[0] == 0x0002:
        element = _element(data, offset, len(data))
        encoded[element.tag] = data[element.start : element.end]
        values[element.tag] = element_value(data, element)
        offset = element.end
    for tag in _META_REQUIRED:
        if not values.get(tag):
            raise StepAside("File Meta Information without a required element (pydicom would add it)")
    return encoded, values, offset


def _top_text(data: bytes, elements: dict[int, _Element], tag: int) -> str:
    element = elements.get(tag)
    return _text(element_value(data, element)) if element is not None else ""


def rewrite(
    data: bytes,
    *,
    decide: Decide,
    replacements: Replacements,
    target_for: Callable[[str], str | None],
    method: str,
    method_codes: Sequence[tuple[str, str]],
    temporal: str,
    full_path_for_device: Callable[[str, str], bool] | None = None,
) -> Rewritten:
    """De-identify one explicit VR little-endian Part 10 file, or raise :class:`StepAside`.

    ``full_path_for_device(manufacturer, model)`` says which devices' files need the
    pydicom path anyway (a pixel rule applies to them).
    """
    meta, meta_values, body = _meta(data)
    syntax = _text(meta_values[_TRANSFER_SYNTAX])
    if syntax not in _SYNTAXES and not syntax.startswith(_SYNTAX_PREFIXES):
        raise StepAside(f"transfer syntax {syntax}")
    elements = _elements(data, body, len(data))
    top = {element.tag: element for element in elements}
    if not top:
        raise StepAside("no data set")
    if _top_text(data, top, _CHARSET) not in _PLAIN_CHARSETS:
        raise StepAside("a character set other than ASCII, Latin-1 or UTF-8")
    source_id = _top_text(data, top, PATIENT_ID).strip()
    target = target_for(source_id) if source_id else None
    if target is None or not target.isascii():
        raise StepAside("no ASCII target for this patient")  # the pydicom path words the refusal
    if full_path_for_device is not None and full_path_for_device(
        _top_text(data, top, _MANUFACTURER), _top_text(data, top, _MODEL)
    ):
        raise StepAside("a pixel rule is configured for this device")
    quarantine = burned_in(
        PIXEL_DATA in top,
        _top_text(data, top, _BURNED_IN),
        _top_text(data, top, _MODALITY),
        _top_text(data, top, _SOP_CLASS),
    )
    walk = _Walk(data, decide, replacements, target)
    walk.scrub = identifier_needles(
        {keyword: _top_text(data, top, tag).split("\\") for keyword, tag in _IDENTIFIER_TAGS.items()},
        _top_text(data, top, PATIENT_NAME) or None,
    )
    labels: list[str] = []
    out, values = walk.dataset(elements, labels, top=True)
    additions: dict[int, tuple[str, bytes]] = {
        PATIENT_ID: ("LO", _padded("LO", target)),
        PATIENT_NAME: ("PN", _padded("PN", target)),
        _IDENTITY_REMOVED: ("CS", _padded("CS", "YES")),
        _METHOD: ("LO", _padded("LO", method[:64])),
        _TEMPORAL_MODIFIED: ("CS", _padded("CS", temporal)),
    }
    for tag, (vr, value) in additions.items():
        out[tag] = _encode(tag, vr, value)
        values[tag] = (vr, value)
    out[_METHOD_CODES] = _sequence(
        _METHOD_CODES, [_code_item(value, meaning) for value, meaning in method_codes]
    )
    if _SOP_INSTANCE not in values:
        raise StepAside("no SOPInstanceUID")
    new_meta = _new_meta(meta, values[_SOP_INSTANCE][1])
    written = b"".join([b"\x00" * PREAMBLE_LENGTH, b"DICM", new_meta, *(out[tag] for tag in sorted(out))])
    return Rewritten(written, _header(values, syntax), quarantine, Counter(labels))


def _code_item(value: str, meaning: str) -> bytes:
    return b"".join(
        (
            _encode(0x00080100, "SH", _padded("SH", value)),
            _encode(0x00080102, "SH", _padded("SH", "DCM")),
            _encode(0x00080104, "LO", _padded("LO", meaning)),
        )
    )


def _new_meta(meta: dict[int, bytes], sop_instance_uid: bytes) -> bytes:
    kept = {tag: encoded for tag, encoded in meta.items() if tag not in _META_DROPPED}
    kept[0x00020003] = _encode(0x00020003, "UI", sop_instance_uid)
    body = b"".join(kept[tag] for tag in sorted(kept))
    return _encode(0x00020000, "UL", _U32.pack(len(body))) + body


def _header(values: dict[int, tuple[str, bytes]], syntax: str) -> InstanceHeader:
    """The catalogue's view of the new file, read from the values in hand (no second parse)."""
    ds = Dataset(
        {
            BaseTag(tag): RawDataElement(BaseTag(tag), vr, len(value), value, 0, False, True)
            for tag, (vr, value) in values.items()
            if vr not in BINARY_NUMBER_VRS
        }
    )
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    return dataset_header(ds)
