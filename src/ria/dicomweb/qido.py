"""QIDO-RS (PS3.18 §10.6): search studies, series and instances in the catalogue, answer in DICOM JSON.

A plain query core a notebook can call (:func:`search`); the HTTP routes only
parse the URL into a :class:`QidoQuery`. Matching follows PS3.4 C.2.2.2: single
values, UID lists, wildcards ``*``/``?``, date ranges, and — with
``fuzzymatching=true`` — case-insensitive matching of any part of a person's
name. Attributes the catalogue does not hold cannot be matched on; asking to
is a 400 that lists what can, rather than a silent "no filter".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydicom.datadict import keyword_for_tag, tag_for_keyword
from sqlalchemy import ColumnElement, Engine, Select, exists, func, select

from ria.access.principal import Principal
from ria.bounds import MAX_OFFSET, parse_int
from ria.catalog.matching import attribute_clause, text_clause
from ria.catalog.schema import collection, instance, patient, series, study
from ria.catalog.streaming import stream_rows
from ria.catalog.visibility import visible_collections
from ria.dicomweb.dicomjson import computed_attribute
from ria.errors import InvalidParameterError

__all__ = ["ATTRIBUTES", "Level", "QidoQuery", "QidoResult", "parse_query", "search", "stream_search"]

Level = Literal["study", "series", "instance"]
_ORDER: dict[Level, int] = {"study": 0, "series": 1, "instance": 2}
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
_NO_LIMIT = 10**18 - 1  # "limit=99999999" means "all you will give"; it is reduced to MAX_LIMIT
_BATCH = 500  # rows encoded per ModalitiesInStudy lookup while streaming
_PARAMETERS = frozenset({"includefield", "fuzzymatching", "limit", "offset", "collection"})


@dataclass(frozen=True)
class Attribute:
    """An attribute the catalogue holds: where it lives and how it matches and encodes."""

    keyword: str
    vr: str
    level: Level
    column: Any  # a SQLAlchemy column, or None for computed attributes
    default: bool = True  # returned without includefield at its level

    @property
    def tag(self) -> str:
        number = tag_for_keyword(self.keyword)
        assert number is not None, self.keyword
        return f"{number:08X}"


ATTRIBUTES: dict[str, Attribute] = {
    a.keyword: a
    for a in (
        Attribute("StudyInstanceUID", "UI", "study", study.c.study_instance_uid),
        Attribute("StudyDate", "DA", "study", study.c.study_date),
        Attribute("StudyTime", "TM", "study", None),
        Attribute("AccessionNumber", "SH", "study", study.c.accession_number),
        Attribute("ReferringPhysicianName", "PN", "study", None),
        Attribute("StudyID", "SH", "study", study.c.study_id),
        Attribute("StudyDescription", "LO", "study", study.c.study_description),
        Attribute("ModalitiesInStudy", "CS", "study", None),
        Attribute("NumberOfStudyRelatedSeries", "IS", "study", None),
        Attribute("NumberOfStudyRelatedInstances", "IS", "study", None),
        Attribute("PatientName", "PN", "study", patient.c.patient_name),
        Attribute("PatientID", "LO", "study", patient.c.patient_id),
        Attribute("PatientBirthDate", "DA", "study", patient.c.patient_birth_date),
        Attribute("PatientSex", "CS", "study", patient.c.patient_sex),
        Attribute("PatientAge", "AS", "study", study.c.patient_age, default=False),
        Attribute("SeriesInstanceUID", "UI", "series", series.c.series_instance_uid),
        Attribute("Modality", "CS", "series", series.c.modality),
        Attribute("SeriesNumber", "IS", "series", series.c.series_number),
        Attribute("SeriesDescription", "LO", "series", series.c.series_description),
        Attribute("SeriesDate", "DA", "series", series.c.series_date, default=False),
        Attribute("BodyPartExamined", "CS", "series", series.c.body_part_examined),
        Attribute("ProtocolName", "LO", "series", series.c.protocol_name, default=False),
        Attribute("Manufacturer", "LO", "series", series.c.manufacturer, default=False),
        Attribute("ManufacturerModelName", "LO", "series", series.c.manufacturer_model_name, default=False),
        Attribute("NumberOfSeriesRelatedInstances", "IS", "series", series.c.image_count),
        Attribute("SOPClassUID", "UI", "instance", instance.c.sop_class_uid),
        Attribute("SOPInstanceUID", "UI", "instance", instance.c.sop_instance_uid),
        Attribute("InstanceNumber", "IS", "instance", instance.c.instance_number),
        Attribute("AvailableTransferSyntaxUID", "UI", "instance", instance.c.transfer_syntax_uid),
    )
}
_COMPUTED = {"ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"}


@dataclass(frozen=True)
class QidoQuery:
    """One search: the level, the fixed UIDs from the URL, the matching keys and what to return."""

    level: Level
    matches: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    study_uid: str | None = None
    series_uid: str | None = None
    include: frozenset[str] = frozenset()
    include_all: bool = False
    fuzzy: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    collection: str | None = None


@dataclass(frozen=True)
class QidoResult:
    """Matches in DICOM JSON, and whether more matched than ``limit`` let through."""

    items: list[dict[str, Any]]
    truncated: bool


def _keyword(key: str) -> str:
    """A query key as a keyword: keywords stay, 8-digit tags are translated."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", key):
        return keyword_for_tag(int(key, 16)) or key.upper()
    return key


def _matchable(level: Level, scope_from: Level) -> list[str]:
    return sorted(
        a.keyword
        for a in ATTRIBUTES.values()
        if _ORDER[scope_from] <= _ORDER[a.level] <= _ORDER[level]
        and (a.column is not None or a.keyword == "ModalitiesInStudy")
    )


def parse_query(
    level: Level,
    params: Sequence[tuple[str, str]],
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
) -> QidoQuery:
    """Turn URL query parameters into a :class:`QidoQuery`, refusing what cannot be honoured (400)."""
    scope_from: Level = "series" if series_uid else "study"
    if study_uid and level == "series":
        scope_from = "series"
    if study_uid and level == "instance" and not series_uid:
        scope_from = "series"
    if series_uid:
        scope_from = "instance"
    matches: dict[str, list[str]] = {}
    include: set[str] = set()
    include_all = fuzzy = False
    limit, offset, collection_name = DEFAULT_LIMIT, 0, None
    for key, value in params:
        if key == "includefield":
            for item in (part.strip() for part in value.split(",")):
                if item == "all":
                    include_all = True
                elif item:
                    name = _keyword(item)
                    if name not in ATTRIBUTES and tag_for_keyword(name) is None:
                        raise InvalidParameterError(
                            "includefield", f"includefield: unknown attribute {item!r}"
                        )
                    include.add(name)
        elif key == "fuzzymatching":
            if value.lower() not in ("true", "false"):
                raise InvalidParameterError("fuzzymatching", "fuzzymatching must be true or false")
            fuzzy = value.lower() == "true"
        elif key == "limit":
            # Above MAX_LIMIT the server answers its maximum (PS3.18 §8.3.4.4), with the Warning.
            limit = min(parse_int(key, value, minimum=0, maximum=_NO_LIMIT), MAX_LIMIT)
        elif key == "offset":
            offset = parse_int(key, value, minimum=0, maximum=MAX_OFFSET)
        elif key == "collection":
            collection_name = value
        else:
            name = _keyword(key)
            attribute = ATTRIBUTES.get(name)
            allowed = _matchable(level, scope_from)
            if attribute is None or name not in allowed:
                known = "a DICOM attribute" if tag_for_keyword(name) is not None else "not a DICOM attribute"
                raise InvalidParameterError(
                    key,
                    f"cannot match on {key!r} ({known}) at {level} level here; "
                    f"matching keys: {', '.join(allowed)}",
                )
            matches.setdefault(name, []).append(value)
    return QidoQuery(
        level=level,
        matches={name: tuple(values) for name, values in matches.items()},
        study_uid=study_uid,
        series_uid=series_uid,
        include=frozenset(include),
        include_all=include_all,
        fuzzy=fuzzy,
        limit=limit,
        offset=offset,
        collection=collection_name,
    )


def _condition(attribute: Attribute, value: str, fuzzy: bool) -> ColumnElement[bool] | None:
    """One value of a matching key, compiled by the one matching core (``None``: universal matching)."""
    return attribute_clause(attribute.column, attribute.vr, value, key=attribute.keyword, fuzzy=fuzzy)


def _level_select(query: QidoQuery) -> Select[Any]:
    base = study.join(patient, study.c.patient_pk == patient.c.id).join(
        collection, patient.c.collection_id == collection.c.id
    )
    if query.level == "study":
        counts = (
            select(
                series.c.study_pk,
                func.count().label("series_count"),
                func.coalesce(func.sum(series.c.image_count), 0).label("instance_count"),
            )
            .group_by(series.c.study_pk)
            .subquery()
        )
        statement = select(study, patient, counts.c.series_count, counts.c.instance_count).select_from(
            base.join(counts, counts.c.study_pk == study.c.id)
        )
        return statement.order_by(study.c.study_date, study.c.study_instance_uid)
    base = base.join(series, series.c.study_pk == study.c.id)
    if query.level == "series":
        statement = select(study, patient, series).select_from(base)
        return statement.order_by(
            study.c.study_instance_uid, series.c.series_number, series.c.series_instance_uid
        )
    base = base.join(instance, instance.c.series_pk == series.c.id)
    statement = select(study, patient, series, instance).select_from(base)
    return statement.order_by(
        series.c.series_instance_uid, instance.c.instance_number, instance.c.sop_instance_uid
    )


def search(engine: Engine, query: QidoQuery, base_url: str, principal: Principal) -> QidoResult:
    """Run a QIDO-RS search; ``base_url`` is the service root RetrieveURLs start with.

    Only collections ``principal`` may see are searched (the one visibility rule), so a
    restricted study is absent from results and counts alike.
    """
    statement = _matching(query, principal).limit(query.limit + 1).offset(query.offset)
    with engine.connect() as conn:
        rows = [row._mapping for row in conn.execute(statement)]
        truncated = len(rows) > query.limit
        rows = rows[: query.limit]
        modalities = _modalities(conn, [row[study.c.id] for row in rows]) if _wants_modalities(query) else {}
    returned = _returned(query)
    return QidoResult([_encode(query, returned, row, modalities, base_url) for row in rows], truncated)


def stream_search(
    engine: Engine, query: QidoQuery, base_url: str, principal: Principal
) -> tuple[Iterator[dict[str, Any]], bool]:
    """:func:`search` as an iterator over one server-side cursor (flat memory for any ``limit``),
    and whether more matched than ``limit`` let through (asked first, by one probe for the row
    after the last: the Warning header must be decided before the body starts)."""
    statement = _matching(query, principal)
    with engine.connect() as conn:
        beyond = statement.limit(1).offset(query.offset + query.limit)
        truncated = conn.execute(beyond).first() is not None
    page = statement.limit(query.limit).offset(query.offset)
    return _stream_encoded(engine, query, page, base_url), truncated


def _stream_encoded(
    engine: Engine, query: QidoQuery, statement: Select[Any], base_url: str
) -> Iterator[dict[str, Any]]:
    returned = _returned(query)
    rows = stream_rows(engine, statement)
    try:
        while batch := [row._mapping for row in itertools.islice(rows, _BATCH)]:
            modalities: dict[int, list[str]] = {}
            if _wants_modalities(query):
                with engine.connect() as conn:
                    modalities = _modalities(conn, [row[study.c.id] for row in batch])
            for row in batch:
                yield _encode(query, returned, row, modalities, base_url)
    finally:
        rows.close()


def _matching(query: QidoQuery, principal: Principal) -> Select[Any]:
    """The level's rows that match ``query`` and that ``principal`` may see, in result order."""
    statement = _level_select(query).where(visible_collections(principal))
    if query.study_uid:
        statement = statement.where(study.c.study_instance_uid == query.study_uid)
    if query.series_uid:
        statement = statement.where(series.c.series_instance_uid == query.series_uid)
    if query.collection:
        statement = statement.where(collection.c.name == query.collection)
    for name, values in query.matches.items():
        attribute = ATTRIBUTES[name]
        for value in values:
            if name == "ModalitiesInStudy":
                other = series.alias("series_in_study")
                wanted = text_clause(other.c.modality, [m.strip() for m in re.split(r"[,\\]", value)])
                if wanted is not None:
                    in_study = select(other.c.id).where(other.c.study_pk == study.c.id, wanted)
                    statement = statement.where(exists(in_study))
            else:
                clause = _condition(attribute, value, query.fuzzy)
                if clause is not None:
                    statement = statement.where(clause)
    return statement


def _wants_modalities(query: QidoQuery) -> bool:
    return query.level == "study" or query.include_all or "ModalitiesInStudy" in query.include


def _modalities(conn: Any, study_pks: list[int]) -> dict[int, list[str]]:
    found: dict[int, set[str]] = {}
    for start in range(0, len(study_pks), 500):
        chunk = study_pks[start : start + 500]
        rows = conn.execute(
            select(series.c.study_pk, series.c.modality).where(series.c.study_pk.in_(chunk)).distinct()
        )
        for pk, modality in rows:
            if modality:
                found.setdefault(pk, set()).add(modality)
    return {pk: sorted(values) for pk, values in found.items()}


def _returned(query: QidoQuery) -> list[Attribute]:
    chosen = []
    for attribute in ATTRIBUTES.values():
        if _ORDER[attribute.level] > _ORDER[query.level]:
            continue
        at_level = attribute.level == query.level
        if (
            attribute.keyword in _COMPUTED
            and query.level != "study"
            and not (query.include_all or attribute.keyword in query.include)
        ):
            continue
        if (
            (at_level and attribute.default)
            or query.include_all
            or attribute.keyword in query.include
            or attribute.keyword in ("StudyInstanceUID", "SeriesInstanceUID")
        ):
            chosen.append(attribute)
    return chosen


def _encode(
    query: QidoQuery,
    returned: list[Attribute],
    row: Mapping[Any, Any],
    modalities: dict[int, list[str]],
    base_url: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    study_uid = row[study.c.study_instance_uid]
    for attribute in returned:
        if attribute.keyword == "ModalitiesInStudy":
            value: object = modalities.get(row[study.c.id], [])
        elif attribute.keyword == "NumberOfStudyRelatedSeries":
            value = row.get("series_count") if query.level == "study" else None
        elif attribute.keyword == "NumberOfStudyRelatedInstances":
            value = row.get("instance_count") if query.level == "study" else None
        elif attribute.column is None:
            value = None
        else:
            value = row[attribute.column]
        element = computed_attribute(attribute.vr, value)
        if element is not None:
            out[attribute.tag] = element
    url = f"{base_url}/studies/{study_uid}"
    if query.level != "study":
        url += f"/series/{row[series.c.series_instance_uid]}"
    if query.level == "instance":
        url += f"/instances/{row[instance.c.sop_instance_uid]}"
    out["00081190"] = {"vr": "UR", "Value": [url]}
    return dict(sorted(out.items()))
