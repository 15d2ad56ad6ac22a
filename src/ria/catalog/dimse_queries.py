"""DICOM Query/Retrieve questions over the catalogue (PS3.4 Annex C): what C-FIND, C-MOVE and C-GET ask.

The DIMSE front end (:mod:`ria.dimse`) turns a request identifier into a
:class:`QRQuery` (matching conditions on catalogue fields, DICOM-neutral); this
module compiles it to SQL over the same joined tables as :mod:`ria.catalog.search`,
restricted by a ``scope`` :class:`~ria.catalog.search.SeriesFilter` applied with
:func:`~ria.catalog.search.apply_filter` — the one place what may be seen is decided.

Only local series count: metadata-only (remote) series have no bytes to retrieve,
so they are neither found nor counted here.

Matching follows PS3.4 C.2.2.2 and is compiled by :mod:`ria.catalog.matching`, the
one matching core QIDO-RS uses too: single values, lists of alternatives (``\\``),
``*``/``?`` wildcards, inclusive date ranges — case-sensitive on every database,
person names included (C-FIND negotiates no fuzzy matching), so SQLite and
PostgreSQL give the same answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from sqlalchemy import ColumnElement, Engine, Select, distinct, func, select

from ria.access.principal import Principal
from ria.catalog.matching import Bound, equals_any, range_clause, text_clause
from ria.catalog.schema import collection, instance, patient, series, study
from ria.catalog.search import SeriesFilter, apply_filter, joined_series

__all__ = [
    "LEVELS",
    "Condition",
    "DateMatch",
    "IntMatch",
    "Level",
    "QRMatch",
    "QRQuery",
    "TextMatch",
    "field_level",
    "iter_matches",
]

Level = Literal["PATIENT", "STUDY", "SERIES", "IMAGE"]
LEVELS: tuple[Level, ...] = ("PATIENT", "STUDY", "SERIES", "IMAGE")
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class TextMatch:
    """``field`` equals one of ``values`` (each may hold ``*`` and ``?`` wildcards)."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DateMatch:
    """``field`` lies within [start, end] (either bound may be open)."""

    field: str
    start: Bound | None
    end: Bound | None


@dataclass(frozen=True, slots=True)
class IntMatch:
    """``field`` equals one of ``values``."""

    field: str
    values: tuple[int, ...]


Condition = TextMatch | DateMatch | IntMatch


@dataclass(frozen=True, slots=True)
class QRQuery:
    """Entities of ``level`` whose fields meet every condition.

    ``modalities_in_study`` keeps studies with at least one series of one of the
    listed modalities (ModalitiesInStudy matching).
    """

    level: Level
    conditions: tuple[Condition, ...] = ()
    modalities_in_study: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QRMatch:
    """One entity found at a level, with what the catalogue holds about it and its parents.

    Fields below the level are ``None``; counts are filled at the level they describe.
    """

    level: Level
    collection: str
    patient_id: str
    patient_name: str | None
    patient_sex: str | None
    patient_birth_date: dt.date | None
    patient_studies: int | None = None
    patient_series: int | None = None
    patient_instances: int | None = None
    study_instance_uid: str | None = None
    study_date: dt.date | None = None
    study_description: str | None = None
    study_id: str | None = None
    accession_number: str | None = None
    patient_age: str | None = None
    study_series: int | None = None
    study_instances: int | None = None
    modalities_in_study: tuple[str, ...] = ()
    series_instance_uid: str | None = None
    modality: str | None = None
    series_number: int | None = None
    series_description: str | None = None
    series_date: dt.date | None = None
    body_part_examined: str | None = None
    protocol_name: str | None = None
    series_instances: int | None = None
    sop_instance_uid: str | None = None
    sop_class_uid: str | None = None
    instance_number: int | None = None
    transfer_syntax_uid: str | None = None
    blob_key: str | None = None
    size: int | None = None


_MATCH_FIELDS = {f.name for f in fields(QRMatch)}

_PATIENT_COLUMNS: dict[str, Any] = {
    "collection": collection.c.name,
    "patient_id": patient.c.patient_id,
    "patient_name": patient.c.patient_name,
    "patient_sex": patient.c.patient_sex,
    "patient_birth_date": patient.c.patient_birth_date,
}
_STUDY_COLUMNS: dict[str, Any] = {
    "study_instance_uid": study.c.study_instance_uid,
    "study_date": study.c.study_date,
    "study_description": study.c.study_description,
    "study_id": study.c.study_id,
    "accession_number": study.c.accession_number,
    "patient_age": study.c.patient_age,
}
_SERIES_COLUMNS: dict[str, Any] = {
    "series_instance_uid": series.c.series_instance_uid,
    "modality": series.c.modality,
    "series_number": series.c.series_number,
    "series_description": series.c.series_description,
    "series_date": series.c.series_date,
    "body_part_examined": series.c.body_part_examined,
    "protocol_name": series.c.protocol_name,
    "series_instances": series.c.image_count,
}
_INSTANCE_COLUMNS: dict[str, Any] = {
    "sop_instance_uid": instance.c.sop_instance_uid,
    "sop_class_uid": instance.c.sop_class_uid,
    "instance_number": instance.c.instance_number,
    "transfer_syntax_uid": instance.c.transfer_syntax_uid,
    "blob_key": instance.c.blob_key,
    "size": instance.c.size,
}
_LEVEL_COLUMNS: tuple[dict[str, Any], ...] = (
    _PATIENT_COLUMNS,
    _STUDY_COLUMNS,
    _SERIES_COLUMNS,
    _INSTANCE_COLUMNS,
)
_MATCHABLE: dict[str, tuple[int, Any]] = {
    name: (rank, column)
    for rank, columns in enumerate(_LEVEL_COLUMNS)
    for name, column in columns.items()
    if name not in ("collection", "series_instances", "blob_key", "size", "transfer_syntax_uid")
}
assert set(_MATCHABLE) <= _MATCH_FIELDS, "every matchable field is a QRMatch field"


def field_level(name: str) -> Level:
    """The level a matchable field belongs to (``KeyError`` for a field that cannot be matched)."""
    return LEVELS[_MATCHABLE[name][0]]


def _where(query: Select[Any], q: QRQuery) -> Select[Any]:
    for condition in q.conditions:
        column = _MATCHABLE[condition.field][1]
        clause: ColumnElement[bool] | None
        if isinstance(condition, TextMatch):
            clause = text_clause(column, condition.values)
        elif isinstance(condition, DateMatch):
            clause = range_clause(column, condition.start, condition.end)
        else:
            clause = equals_any(column, condition.values)
        if clause is not None:
            query = query.where(clause)
    modality = text_clause(series.c.modality, q.modalities_in_study)
    if q.modalities_in_study and modality is not None:
        with_modality = select(series.c.study_pk).where(modality, series.c.is_remote.is_(False))
        query = query.where(study.c.id.in_(with_modality))
    return query


def _check(q: QRQuery) -> None:
    rank = LEVELS.index(q.level)
    for condition in q.conditions:
        if condition.field not in _MATCHABLE:
            raise ValueError(f"cannot match on {condition.field!r}")
        if _MATCHABLE[condition.field][0] > rank:
            raise ValueError(f"{condition.field} is below the {q.level} level")
    if q.modalities_in_study and rank < 1:
        raise ValueError("ModalitiesInStudy is below the PATIENT level")


def _base(q: QRQuery, scope: SeriesFilter, principal: Principal) -> tuple[Select[Any], Any, list[str]]:
    """The level's SELECT (over local series in ``scope``), its key column and its field names."""
    rank = LEVELS.index(q.level)
    names: list[str] = []
    columns: list[Any] = []
    for columns_of_level in _LEVEL_COLUMNS[: rank + 1]:
        for name, column in columns_of_level.items():
            names.append(name)
            columns.append(column)
    if q.level == "PATIENT":
        key = patient.c.id
        counts = (
            func.count(distinct(study.c.id)),
            func.count(series.c.id),
            func.coalesce(func.sum(series.c.image_count), 0),
        )
        names += ["patient_studies", "patient_series", "patient_instances"]
        query = joined_series(key, *columns, *counts).group_by(key, *columns)
    elif q.level == "STUDY":
        key = study.c.id
        names += ["study_series", "study_instances"]
        query = joined_series(
            key, *columns, func.count(series.c.id), func.coalesce(func.sum(series.c.image_count), 0)
        ).group_by(key, *columns)
    elif q.level == "SERIES":
        key = series.c.id
        query = joined_series(key, *columns)
    else:
        key = instance.c.id
        query = joined_series(key, *columns).join(instance, instance.c.series_pk == series.c.id)
    query = apply_filter(query, scope, principal).where(series.c.is_remote.is_(False))
    return _where(query, q), key, names


def iter_matches(engine: Engine, q: QRQuery, scope: SeriesFilter, principal: Principal) -> Iterator[QRMatch]:
    """Every entity at ``q.level`` matching ``q`` within ``scope``, read a page at a time (keyset)."""
    _check(q)
    base, key, names = _base(q, scope, principal)
    last = 0
    while True:
        with engine.connect() as conn:
            page = conn.execute(base.where(key > last).order_by(key).limit(_PAGE)).all()
            found = [QRMatch(level=q.level, **dict(zip(names, row[1:], strict=True))) for row in page]
            if q.level == "STUDY" and found:
                found = _with_modalities(conn, [row[0] for row in page], found)
        yield from found
        if len(page) < _PAGE:
            return
        last = page[-1][0]


def _with_modalities(conn: Any, study_keys: list[int], found: list[QRMatch]) -> list[QRMatch]:
    query = (
        select(series.c.study_pk, series.c.modality)
        .where(
            series.c.study_pk.in_(study_keys),
            series.c.modality.is_not(None),
            series.c.is_remote.is_(False),
        )
        .distinct()
    )
    by_study: dict[int, set[str]] = {}
    for study_pk, modality in conn.execute(query):
        by_study.setdefault(study_pk, set()).add(modality)
    return [
        replace(match, modalities_in_study=tuple(sorted(by_study.get(pk, ()))))
        for pk, match in zip(study_keys, found, strict=True)
    ]
