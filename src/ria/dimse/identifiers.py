"""Query/Retrieve identifiers (PS3.4 C.4) to catalogue questions, and catalogue answers to identifiers.

:func:`find_query` reads a C-FIND identifier, :func:`retrieve_query` a C-MOVE/C-GET
one; both produce a DICOM-neutral :class:`~ria.catalog.dimse_queries.QRQuery`.
:func:`find_response` answers one match with the keys the peer asked for: the
values the catalogue holds, every other requested key empty (as PS3.4 C.4.1.1.3.2
allows). Messages of :class:`InvalidIdentifier` name keys, never their values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from ria.catalog.dimse_queries import (
    LEVELS,
    Condition,
    DateMatch,
    IntMatch,
    Level,
    QRMatch,
    QRQuery,
    TextMatch,
    field_level,
)
from ria.catalog.matching import alphabetic_group, parse_range
from ria.errors import InvalidParameterError

__all__ = [
    "PATIENT_ROOT_MODELS",
    "STUDY_ROOT_MODELS",
    "VERIFICATION",
    "InvalidIdentifier",
    "ParsedFind",
    "find_query",
    "find_response",
    "model_levels",
    "retrieve_query",
]

Kind = Literal["text", "name", "uid", "date", "int"]

# Matching keys: keyword → (catalogue field, kind).
MATCHING_KEYS: dict[str, tuple[str, Kind]] = {
    "PatientID": ("patient_id", "text"),
    "PatientName": ("patient_name", "name"),
    "PatientSex": ("patient_sex", "text"),
    "PatientBirthDate": ("patient_birth_date", "date"),
    "StudyInstanceUID": ("study_instance_uid", "uid"),
    "StudyDate": ("study_date", "date"),
    "StudyDescription": ("study_description", "text"),
    "StudyID": ("study_id", "text"),
    "AccessionNumber": ("accession_number", "text"),
    "PatientAge": ("patient_age", "text"),
    "SeriesInstanceUID": ("series_instance_uid", "uid"),
    "Modality": ("modality", "text"),
    "SeriesNumber": ("series_number", "int"),
    "SeriesDescription": ("series_description", "text"),
    "SeriesDate": ("series_date", "date"),
    "BodyPartExamined": ("body_part_examined", "text"),
    "ProtocolName": ("protocol_name", "text"),
    "SOPInstanceUID": ("sop_instance_uid", "uid"),
    "SOPClassUID": ("sop_class_uid", "uid"),
    "InstanceNumber": ("instance_number", "int"),
}
# Return keys answered from counts: keyword → (QRMatch field, the level that fills it).
COUNT_KEYS: dict[str, tuple[str, Level]] = {
    "NumberOfPatientRelatedStudies": ("patient_studies", "PATIENT"),
    "NumberOfPatientRelatedSeries": ("patient_series", "PATIENT"),
    "NumberOfPatientRelatedInstances": ("patient_instances", "PATIENT"),
    "NumberOfStudyRelatedSeries": ("study_series", "STUDY"),
    "NumberOfStudyRelatedInstances": ("study_instances", "STUDY"),
    "NumberOfSeriesRelatedInstances": ("series_instances", "SERIES"),
}
_RETURN_ONLY = {"QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle", "InstanceAvailability"}
_UNIQUE_KEYS: dict[Level, str] = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
_MAX_LENGTH = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "IS": 12, "LO": 64, "PN": 64, "SH": 16}

VERIFICATION = "1.2.840.10008.1.1"
# Query/Retrieve information models (PS3.4 C.6): FIND, MOVE, GET of each root.
PATIENT_ROOT_MODELS = (
    "1.2.840.10008.5.1.4.1.2.1.1",
    "1.2.840.10008.5.1.4.1.2.1.2",
    "1.2.840.10008.5.1.4.1.2.1.3",
)
STUDY_ROOT_MODELS = (
    "1.2.840.10008.5.1.4.1.2.2.1",
    "1.2.840.10008.5.1.4.1.2.2.2",
    "1.2.840.10008.5.1.4.1.2.2.3",
)


class InvalidIdentifier(ValueError):
    """The identifier cannot be answered (status 0xA900); the message names keys, not values."""


@dataclass(frozen=True, slots=True)
class ParsedFind:
    """A C-FIND identifier as a catalogue question.

    ``unsupported`` names keys given a value Ria cannot match on: they are treated as
    return keys, and answers carry the warning status 0xFF01 (PS3.4 C.4.1.1.4).
    """

    query: QRQuery
    unsupported: tuple[str, ...] = ()


def model_levels(model: str) -> tuple[Level, ...]:
    """The levels an information model (a FIND/MOVE/GET SOP class UID) has."""
    if model in PATIENT_ROOT_MODELS:
        return LEVELS
    if model in STUDY_ROOT_MODELS:
        return LEVELS[1:]
    raise InvalidIdentifier(f"unsupported information model {model}")


def _level(identifier: Dataset, model: str) -> Level:
    levels = model_levels(model)
    text = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    for level in levels:
        if text == level:
            return level
    raise InvalidIdentifier(
        f"QueryRetrieveLevel must be one of {', '.join(levels)} for this information model"
    )


def _strings(element: DataElement) -> list[str]:
    value = element.value
    if value is None:
        return []
    items: Iterable[object] = value if isinstance(value, MultiValue | list | tuple) else [value]
    return [text for text in (str(item).strip() for item in items) if text]


def _date_match(keyword: str, field: str, values: list[str]) -> DateMatch:
    """A date or date range, parsed by the matching core; the message names the key, not the value."""
    if len(values) != 1:
        raise InvalidIdentifier(f"{keyword} takes one date or one range")
    try:
        start, end = parse_range("DA", values[0], keyword)
    except InvalidParameterError:
        raise InvalidIdentifier(f"{keyword} must be a date YYYYMMDD or a range of them") from None
    return DateMatch(field, start, end)


def _condition(keyword: str, values: list[str]) -> Condition | None:
    field, kind = MATCHING_KEYS[keyword]
    if kind == "date":
        return _date_match(keyword, field, values)
    if kind == "int":
        try:
            return IntMatch(field, tuple(int(value) for value in values))
        except ValueError:
            raise InvalidIdentifier(f"{keyword} must be an integer") from None
    if kind == "uid":
        return TextMatch(field, tuple(values))
    if kind == "name":
        # Only the alphabetic component group is stored: match on it (case-sensitively, no fuzzy).
        names = tuple(alphabetic_group(value) for value in values)
        return None if all(not name or name == "*" for name in names) else TextMatch(field, names)
    return None if "*" in values else TextMatch(field, tuple(values))


def find_query(identifier: Dataset, model: str) -> ParsedFind:
    """The catalogue question a C-FIND identifier asks (:class:`InvalidIdentifier` if it asks none)."""
    level = _level(identifier, model)
    rank = LEVELS.index(level)
    conditions: list[Condition] = []
    unsupported: list[str] = []
    modalities: tuple[str, ...] = ()
    for element in identifier:
        keyword = element.keyword or str(element.tag)
        if element.VR == "SQ":
            if element.value:
                unsupported.append(keyword)
            continue
        values = _strings(element)
        if not values or keyword in _RETURN_ONLY or keyword in COUNT_KEYS:
            continue
        if keyword == "ModalitiesInStudy":
            if rank < 1:
                raise InvalidIdentifier("ModalitiesInStudy is below the PATIENT level")
            if "*" not in values:
                modalities = tuple(values)
            continue
        if keyword not in MATCHING_KEYS:
            unsupported.append(keyword)
            continue
        if LEVELS.index(field_level(MATCHING_KEYS[keyword][0])) > rank:
            raise InvalidIdentifier(f"{keyword} is below the {level} level")
        condition = _condition(keyword, values)
        if condition is not None:
            conditions.append(condition)
    return ParsedFind(QRQuery(level, tuple(conditions), modalities), tuple(unsupported))


def retrieve_query(identifier: Dataset, model: str) -> QRQuery:
    """The instances a C-MOVE/C-GET identifier names, as an IMAGE-level question.

    The unique key of the retrieve level must be given (one value or a list); unique
    keys of the levels above narrow it when present. Wildcards are refused: a retrieve
    names what it wants.
    """
    level = _level(identifier, model)
    levels = model_levels(model)
    conditions: list[Condition] = []
    for upper in levels[: levels.index(level) + 1]:
        keyword = _UNIQUE_KEYS[upper]
        values = _strings(identifier[keyword]) if keyword in identifier else []
        if not values:
            if upper == level:
                raise InvalidIdentifier(f"a {level} level retrieve needs {keyword}")
            continue
        if any("*" in value or "?" in value for value in values):
            raise InvalidIdentifier(f"{keyword} may not hold wildcards in a retrieve")
        conditions.append(TextMatch(MATCHING_KEYS[keyword][0], tuple(values)))
    return QRQuery("IMAGE", tuple(conditions))


def _format(value: object, vr: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    text = str(value)
    limit = _MAX_LENGTH.get(vr)
    return text[:limit] if limit else text


def find_response(request: Dataset, match: QRMatch, ae_title: str) -> Dataset:
    """The identifier answering ``request`` for ``match``: every requested key, filled where known."""
    rank = LEVELS.index(match.level)
    answer = Dataset()
    non_ascii = False
    for element in request:
        keyword = element.keyword
        vr = element.VR
        value: object = None
        if keyword == "SpecificCharacterSet":
            continue
        if keyword == "QueryRetrieveLevel":
            value = match.level
        elif keyword == "RetrieveAETitle":
            value = ae_title
        elif keyword == "InstanceAvailability":
            value = "ONLINE"
        elif keyword == "ModalitiesInStudy":
            value = list(match.modalities_in_study) if rank >= 1 else None
        elif keyword in COUNT_KEYS:
            field, level = COUNT_KEYS[keyword]
            value = getattr(match, field) if level == match.level else None
        elif keyword in MATCHING_KEYS:
            field = MATCHING_KEYS[keyword][0]
            if LEVELS.index(field_level(field)) <= rank:
                value = getattr(match, field)
        if vr == "SQ":
            answer.add_new(element.tag, vr, [])
            continue
        if isinstance(value, list):
            texts = [text for text in (_format(item, vr) for item in value) if text]
            formatted: object = texts or None
        else:
            formatted = _format(value, vr)
        if isinstance(formatted, str) and not formatted.isascii():
            non_ascii = True
        if vr == "UI" and isinstance(formatted, str):
            formatted = UID(formatted)
        answer.add_new(element.tag, vr, formatted)
    if non_ascii:
        answer.SpecificCharacterSet = "ISO_IR 192"
    elif "SpecificCharacterSet" in request:
        answer.SpecificCharacterSet = request.SpecificCharacterSet
    return answer
