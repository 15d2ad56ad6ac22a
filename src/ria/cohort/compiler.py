"""Compile a :class:`~ria.cohort.model.CohortQuery` to the catalogue's one query model.

Imaging facets become a :class:`~ria.catalog.search.SeriesFilter`; every patient
condition becomes ``patient.patient_id IN (participants satisfying it)`` over the
genomics tables, ANDed into the filter's ``patient_condition``. So a cohort is an
ordinary series selection: listings, value counts, manifests and downloads all
take it without knowing about genomics.

The clinical record of a participant is merged across sources at query time
(:func:`merged_clinical`): "Dead" outranks "Alive" and the largest day counts
win, which is what a patient file plus its follow-up forms mean together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    Subquery,
    and_,
    case,
    func,
    not_,
    or_,
    select,
    true,
)

from ria.catalog.matching import ascii_lower, fold_ascii
from ria.catalog.schema import (
    clinical,
    collection,
    genomic_source,
    label,
    label_field,
    mutation,
    patient,
    series,
)
from ria.catalog.search import SeriesFilter
from ria.cohort.model import CLINICAL_FIELDS, CohortQuery, FieldCondition, GeneCondition
from ria.errors import InvalidParameterError

__all__ = [
    "compile_query",
    "gene_participants",
    "label_types",
    "merged_clinical",
    "mutation_counts",
    "profiled_participants",
    "resolve_collections",
    "resolve_manufacturers",
]

_YEAR = 365.25


def merged_clinical() -> Subquery:
    """One clinical row per participant, merged over every source that describes them."""
    status = func.max(clinical.c.vital_status)
    death = func.max(clinical.c.days_to_death)
    follow_up = func.max(clinical.c.days_to_last_follow_up)
    return (
        select(
            clinical.c.participant.label("participant"),
            func.max(clinical.c.project).label("project"),
            status.label("vital_status"),
            death.label("days_to_death"),
            follow_up.label("days_to_last_follow_up"),
            case((status == "Dead", death), else_=follow_up).label("survival_days"),
            func.max(clinical.c.sex).label("sex"),
            func.max(clinical.c.race).label("race"),
            func.max(clinical.c.ethnicity).label("ethnicity"),
            func.max(clinical.c.age_at_diagnosis).label("age_at_diagnosis"),
            func.max(clinical.c.primary_diagnosis).label("primary_diagnosis"),
            func.max(clinical.c.ajcc_pathologic_stage).label("stage"),
        )
        .group_by(clinical.c.participant)
        .subquery("merged_clinical")
    )


def mutation_counts() -> Subquery:
    """Mutations per participant, each variant counted once however many sources list it."""
    variants = (
        select(
            mutation.c.participant,
            mutation.c.hugo_symbol,
            mutation.c.variant_classification,
            mutation.c.start_position,
        )
        .distinct()
        .subquery("variants")
    )
    return (
        select(variants.c.participant.label("participant"), func.count().label("mutations"))
        .group_by(variants.c.participant)
        .subquery("mutation_counts")
    )


def gene_participants(gene: GeneCondition) -> Select[Any]:
    """Participants with a qualifying mutation in ``gene`` (whatever ``gene.mutated`` says)."""
    symbols = sorted({gene.gene, gene.gene.upper()})
    query = select(mutation.c.participant).where(mutation.c.hugo_symbol.in_(symbols))
    if not gene.any_class:
        query = query.where(mutation.c.variant_classification.in_(gene.classes))
    return query


def profiled_participants(gene: str) -> Select[Any]:
    """Participants whose data could show a mutation in ``gene``: who was *profiled* for it.

    A MAF is whole-exome: everyone in one is profiled for every gene. A mutation table
    lists only its own panel (the shared lung table: 62 genes), so its participants count as
    profiled for a gene only if that table mentions the gene at all. Without this, "EGFR
    wild type" would claim every patient of a panel that never looked at EGFR.
    """
    symbols = sorted({gene, gene.upper()})
    panels = select(mutation.c.source_id).where(mutation.c.hugo_symbol.in_(symbols))
    return (
        select(mutation.c.participant)
        .join(genomic_source, genomic_source.c.id == mutation.c.source_id)
        .where(or_(genomic_source.c.kind == "maf", mutation.c.source_id.in_(panels)))
    )


def _compare(column: Any, condition: FieldCondition, kind: str) -> ColumnElement[bool]:
    op, value = condition.op, condition.value
    if kind == "text":
        column = ascii_lower(column)
        value = tuple(fold_ascii(v) for v in value) if op == "in" else fold_ascii(str(value))
    if op == "eq":
        return column == value  # type: ignore[no-any-return]
    if op == "ne":
        return column != value  # type: ignore[no-any-return]
    if op == "in":
        return column.in_(value)  # type: ignore[no-any-return]
    if op == "contains":
        return column.contains(value, autoescape=True)  # type: ignore[no-any-return]
    if op == "exists":
        return column.is_not(None)  # type: ignore[no-any-return]
    return {"lt": column < value, "le": column <= value, "gt": column > value, "ge": column >= value}[op]  # type: ignore[no-any-return]


def _stage_values(stages: Sequence[str]) -> list[str]:
    """Stored spellings a stage (or its substages, for a bare stage) may take, upper-cased."""
    found: list[str] = []
    for stage in stages:
        wanted = [stage] if stage[-1] in "ABC" else [stage, *(stage + s for s in "ABC")]
        found.extend(spelling for w in wanted for spelling in (w, f"STAGE {w}"))
    return found


def _age_condition(column: Any, condition: FieldCondition) -> ColumnElement[bool]:
    """``age_years OP n`` as a range of days at diagnosis (whole years: floor(days / 365.25))."""
    op = condition.op
    if op == "exists":
        return column.is_not(None)  # type: ignore[no-any-return]
    if op == "in":
        return or_(
            *(_age_condition(column, FieldCondition(condition.field, "eq", v)) for v in condition.value)
        )
    years = float(condition.value)
    low, high = years * _YEAR, (years + 1) * _YEAR
    return {  # type: ignore[no-any-return]
        "eq": and_(column >= low, column < high),
        "ne": not_(and_(column >= low, column < high)),
        "lt": column < low,
        "le": column < high,
        "gt": column >= high,
        "ge": column >= low,
    }[op]


def _clinical_participants(conditions: Sequence[FieldCondition]) -> list[ColumnElement[bool]]:
    merged = merged_clinical()
    found: list[ColumnElement[bool]] = []
    for condition in conditions:
        column = merged.c["age_at_diagnosis" if condition.field == "age_years" else condition.field]
        if condition.op == "missing":
            known = select(merged.c.participant).where(column.is_not(None))
            found.append(not_(patient.c.patient_id.in_(known)))
            continue
        if condition.field == "age_years":
            test = _age_condition(column, condition)
        elif condition.field == "stage":
            stages = condition.value if condition.op == "in" else (condition.value,)
            matches = func.upper(column).in_(_stage_values(stages))
            test = not_(matches) if condition.op == "ne" else matches
            test = and_(column.is_not(None), test)
        else:
            test = _compare(column, condition, CLINICAL_FIELDS[condition.field])
        found.append(patient.c.patient_id.in_(select(merged.c.participant).where(test)))
    return found


def label_types(engine: Engine) -> dict[str, str]:
    """Each label name with its type ("number" wins only if every source typed it so)."""
    with engine.connect() as conn:
        rows = conn.execute(select(label_field.c.name, label_field.c.value_type)).all()
    types: dict[str, str] = {}
    for name, kind in rows:
        types[name] = "text" if types.get(name, kind) != kind else kind
    return types


def _label_participants(engine: Engine, conditions: Sequence[FieldCondition]) -> list[ColumnElement[bool]]:
    if not conditions:
        return []
    types = label_types(engine)
    by_lower = {name.lower(): name for name in types}
    found: list[ColumnElement[bool]] = []
    for condition in conditions:
        name = by_lower.get(condition.field.lower())
        if name is None:
            known = ", ".join(sorted(types)) or "none (import a label table with ria genomics import)"
            raise InvalidParameterError(
                condition.field, f"no label named {condition.field!r}; labels: {known}"
            )
        kind = types[name]
        checked = condition.checked(kind)
        named = select(label.c.participant).where(label.c.name == name)
        if checked.op == "missing":
            known_rows = named.where(label.c.value_text.is_not(None) | label.c.value_number.is_not(None))
            found.append(not_(patient.c.patient_id.in_(known_rows)))
            continue
        column = label.c.value_number if kind == "number" else label.c.value_text
        found.append(patient.c.patient_id.in_(named.where(_compare(column, checked, kind))))
    return found


def resolve_collections(engine: Engine, names: Sequence[str]) -> tuple[str, ...]:
    """Collection names as the catalogue spells them, matched without regard to case.

    An unknown name is kept as given (it then matches nothing, like TCIA's answer
    for an unknown collection); a query is not an error for naming an empty one.
    """
    if not names:
        return ()
    with engine.connect() as conn:
        known = {name.lower(): name for name in conn.execute(select(collection.c.name)).scalars()}
    return tuple(dict.fromkeys(known.get(name.lower(), name) for name in names))


def resolve_manufacturers(engine: Engine, names: Sequence[str]) -> tuple[str, ...]:
    """Manufacturer names as the catalogue spells them ("Siemens" finds "SIEMENS"), any case.

    Scanners write their own capitalisation and users cannot guess it; matching stays an
    exact ``IN`` on the stored spellings, so the series query itself is unchanged.
    """
    if not names:
        return ()
    wanted = {fold_ascii(name) for name in names}
    query = select(series.c.manufacturer).where(ascii_lower(series.c.manufacturer).in_(wanted)).distinct()
    with engine.connect() as conn:
        stored = sorted(conn.execute(query).scalars())
    return tuple(stored) or tuple(names)


def compile_query(engine: Engine, query: CohortQuery) -> SeriesFilter:
    """The series filter selecting exactly the cohort's series."""
    conditions: list[ColumnElement[bool]] = []
    for gene in query.genes:
        carriers = gene_participants(gene)
        if gene.mutated:
            conditions.append(patient.c.patient_id.in_(carriers))
        else:
            sequenced = profiled_participants(gene.gene)
            conditions.append(
                and_(patient.c.patient_id.in_(sequenced), not_(patient.c.patient_id.in_(carriers)))
            )
    if query.min_mutations is not None or query.max_mutations is not None:
        counts = mutation_counts()
        test: ColumnElement[bool] = true()
        if query.min_mutations is not None:
            test = and_(test, counts.c.mutations >= query.min_mutations)
        if query.max_mutations is not None:
            test = and_(test, counts.c.mutations <= query.max_mutations)
        conditions.append(patient.c.patient_id.in_(select(counts.c.participant).where(test)))
    conditions.extend(_clinical_participants(query.clinical))
    conditions.extend(_label_participants(engine, query.labels))

    def match(values: tuple[str, ...]) -> tuple[str, ...] | None:
        return values or None

    return SeriesFilter(
        collection=match(resolve_collections(engine, query.collection)),
        patient_id=match(query.patient_id),
        modality=match(tuple(m.upper() for m in query.modality)),
        body_part_examined=match(tuple(b.upper() for b in query.body_part)),
        manufacturer=match(resolve_manufacturers(engine, query.manufacturer)),
        description_contains=query.series_description,
        study_date_from=query.study_date_from,
        study_date_to=query.study_date_to,
        local_only=not query.include_remote,
        patient_condition=and_(*conditions) if conditions else None,
    )
