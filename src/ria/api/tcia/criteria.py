"""TCIA's simple-search criteria (``criteriaType0=…&value0=…``) → one :class:`SeriesFilter`.

Criteria are numbered from 0 without gaps, as NBIA reads them. Several criteria
of one type are alternatives (OR); different types must all hold (AND). A type
Ria cannot evaluate is a 400 naming it — silently ignoring a filter would hand
back a larger cohort than the researcher asked for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ria.api.openapi import form_body
from ria.api.tcia.params import split_list
from ria.bounds import MAX_OFFSET, parse_int
from ria.catalog.search import SeriesFilter
from ria.errors import InvalidParameterError

__all__ = ["CRITERIA_TYPES", "HUMAN_SPECIES_CODE", "SearchRequest", "parse_criteria", "search_form"]

HUMAN_SPECIES_CODE = "337915000"

_LIST_CRITERIA = {
    "CollectionCriteria": "collection",
    "ImageModalityCriteria": "modality",
    "AnatomicalSiteCriteria": "body_part_examined",
    "BodyPartExaminedCriteria": "body_part_examined",
    "ManufacturerCriteria": "manufacturer",
    "ModelCriteria": "manufacturer_model_name",
    "PatientCriteria": "patient_id",
    "StudyCriteria": "study_instance_uid",
    "SeriesCriteria": "series_instance_uid",
    "PatientSexCriteria": "patient_sex",
}
_LISTS = {name.lower(): target for name, target in _LIST_CRITERIA.items()}
CRITERIA_TYPES = (
    *_LIST_CRITERIA,
    "DateRangeCriteria",
    "MinNumberOfStudiesCriteria",
    "DescriptionCriteria",
    "ModalityAndedSearchCriteria",
    "SpeciesCriteria",
)
"""The criteria Ria evaluates, as TCIA spells them (matched without regard to case)."""
_UID_FIELDS = {"study_instance_uid", "series_instance_uid"}
_NUMBERED = re.compile(r"(criteriaType|value|fromDate|toDate)(\d+)")
_SEX = {"female": "F", "male": "M", "other": "O"}


@dataclass
class SearchRequest:
    """A parsed simple search: the filter plus TCIA's paging and sorting fields."""

    where: SeriesFilter
    sort_field: str | None = None
    ascending: bool = True
    start: int = 0
    size: int = 25


def _integer(form: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    # Bounded above too: start and size become SQL OFFSET/LIMIT, which are 64-bit in the database.
    return parse_int(name, raw, minimum=minimum, maximum=MAX_OFFSET)


def _date(form: Mapping[str, str], name: str) -> dt.date | None:
    raw = form.get(name)
    if not raw:
        return None
    try:
        return dt.datetime.strptime(raw.strip(), "%m-%d-%Y").date()
    except ValueError:
        message = f"{name} must be a date written MM-DD-YYYY, got {raw[:20]!r}"
        raise InvalidParameterError(name, message) from None


def parse_criteria(form: Mapping[str, str], *, default_size: int = 25) -> SearchRequest:
    """Translate the form of getSimpleSearch / getManifestForSimpleSearch."""
    lists: dict[str, list[str]] = {}
    extra: dict[str, object] = {}
    species: list[str] = []
    anded = False
    index = 0
    while f"criteriaType{index}" in form:
        kind_name = f"criteriaType{index}"
        kind = form[kind_name].strip()
        key = kind.lower()
        value = form.get(f"value{index}", "")
        if key in _LISTS:
            target = _LISTS[key]
            items = split_list(f"value{index}", value, uids=target in _UID_FIELDS)
            if target == "patient_sex":
                items = tuple(_SEX.get(item.lower(), item) for item in items)
            lists.setdefault(target, []).extend(items)
        elif key in ("daterangecriteria", "criteria.daterange"):
            # "Criteria.DateRange" is what tcia_utils 3.x sends (an enum's str(), not its value).
            extra["study_date_from"] = _date(form, f"fromDate{index}")
            extra["study_date_to"] = _date(form, f"toDate{index}")
        elif key == "minnumberofstudiescriteria":
            extra["min_studies"] = _integer(form, f"value{index}", 1, 1)
        elif key == "descriptioncriteria":
            extra["description_contains"] = value.strip() or None
        elif key == "modalityandedsearchcriteria":
            anded = value.strip().lower() == "all"
        elif key == "speciescriteria":
            species.extend(split_list(f"value{index}", value))
        else:
            message = f"{kind_name}: Ria does not evaluate {kind[:60]!r} searches"
            raise InvalidParameterError(kind_name, message)
        index += 1
    for name in form:
        numbered = _NUMBERED.fullmatch(name)
        if numbered and int(numbered.group(2)) >= index:
            message = f"{name} has no matching criteriaType (they are numbered from 0, without gaps)"
            raise InvalidParameterError(name, message)
    values: dict[str, object] = {name: tuple(dict.fromkeys(items)) for name, items in lists.items()}
    if anded and "modality" in values:
        extra["all_modalities"] = values.pop("modality")
    if species and HUMAN_SPECIES_CODE not in species:
        values["collection"] = ()  # every subject Ria holds is human: no match
    where = SeriesFilter(**values, **extra)  # type: ignore[arg-type]
    return SearchRequest(
        where=where,
        sort_field=form.get("sortField"),
        ascending=(form.get("sortDirection") or "ascending").lower() == "ascending",
        start=_integer(form, "start", 0, 0),
        size=_integer(form, "size", default_size, 1),
    )


def search_form(default_size: int) -> dict[str, Any]:
    """The form :func:`parse_criteria` reads, declared for OpenAPI (``openapi_extra``).

    The fields TCIA documents for getSimpleSearch: numbered criteria from 0 without gaps
    (declared for 0, and by pattern for the rest), paging and sorting. No criterion at
    all matches everything, so the body is optional.
    """
    kind = {"type": "string", "enum": list(CRITERIA_TYPES), "description": "what value0 is matched against"}
    value = {
        "type": "string",
        "description": "the value(s), comma-separated for alternatives; ModalityAndedSearchCriteria: all|any",
    }
    date = {"type": "string", "pattern": r"^[0-9]{2}-[0-9]{2}-[0-9]{4}$", "description": "MM-DD-YYYY"}
    page = {"type": "integer", "maximum": MAX_OFFSET}
    properties: dict[str, dict[str, Any]] = {
        "criteriaType0": kind,
        "value0": value,
        "fromDate0": {**date, "description": "DateRangeCriteria: from this study date (MM-DD-YYYY)"},
        "toDate0": {**date, "description": "DateRangeCriteria: up to this study date (MM-DD-YYYY)"},
        "sortField": {
            "type": "string",
            "description": "collection (default), subject, totalNumberOfStudies (or study, studies), "
            "totalNumberOfSeries (or series); anything else sorts by collection",
        },
        "sortDirection": {"type": "string", "enum": ["ascending", "descending"], "default": "ascending"},
        "start": {**page, "minimum": 0, "default": 0, "description": "subjects to skip"},
        "size": {**page, "minimum": 1, "default": default_size, "description": "subjects per page"},
    }
    return form_body(
        properties,
        patternProperties={
            r"^criteriaType[1-9][0-9]*$": kind,
            r"^value[1-9][0-9]*$": value,
            r"^(fromDate|toDate)[1-9][0-9]*$": date,
        },
        dependentRequired={name: ["criteriaType0"] for name in ("value0", "fromDate0", "toDate0")},
    )
