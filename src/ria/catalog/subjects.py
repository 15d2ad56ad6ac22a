"""Subject-level search: matching series grouped by patient, with facet counts and paging.

This is the question TCIA's portal (and its ``getSimpleSearch``) asks: "which
patients have series matching these criteria, how many studies and series
each, and how do the matches split by collection, modality and body part?".
It is answered from the same :class:`~ria.catalog.search.SeriesFilter` as every
other query, so its series are exactly getSeries' series.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine

from ria.access.principal import Principal
from ria.catalog.schema import collection, patient, series, study
from ria.catalog.search import SeriesFilter, apply_filter, joined_series

__all__ = ["SeriesRef", "SortField", "SubjectPage", "SubjectRow", "SubjectStudy", "search_subjects"]

NOT_SPECIFIED = "NOT SPECIFIED"


class SortField(StrEnum):
    """Orders TCIA's search offers; anything else sorts by collection, as TCIA does."""

    COLLECTION = "collection"
    SUBJECT = "subject"
    STUDIES = "totalNumberOfStudies"
    SERIES = "totalNumberOfSeries"

    @classmethod
    def parse(cls, value: str | None) -> SortField:
        aliases = {"study": cls.STUDIES, "studies": cls.STUDIES, "series": cls.SERIES}
        if value in aliases:
            return aliases[value]
        try:
            return cls(value or "collection")
        except ValueError:
            return cls.COLLECTION


@dataclass(frozen=True, slots=True)
class SeriesRef:
    pk: int
    series_instance_uid: str
    modality: str | None


@dataclass(frozen=True, slots=True)
class SubjectStudy:
    pk: int
    study_instance_uid: str
    series: tuple[SeriesRef, ...]


@dataclass(frozen=True, slots=True)
class SubjectRow:
    """One patient and its matching studies and series."""

    collection: str
    patient_id: str
    pk: int
    modalities: tuple[str, ...]
    body_parts: tuple[str, ...]
    studies: tuple[SubjectStudy, ...]

    @property
    def total_studies(self) -> int:
        return len(self.studies)

    @property
    def total_series(self) -> int:
        return sum(len(s.series) for s in self.studies)

    def series_uids(self) -> Iterator[str]:
        for one in self.studies:
            for ref in one.series:
                yield ref.series_instance_uid


@dataclass(frozen=True)
class SubjectPage:
    """A page of subjects plus counts over *all* matching subjects (not just the page)."""

    total_patients: int
    subjects: list[SubjectRow]
    collections: dict[str, int]
    modalities: dict[str, int]
    body_parts: dict[str, int]


def _subjects(engine: Engine, where: SeriesFilter, principal: Principal) -> list[SubjectRow]:
    columns = (
        collection.c.name,
        patient.c.id,
        patient.c.patient_id,
        study.c.id,
        study.c.study_instance_uid,
        series.c.id,
        series.c.series_instance_uid,
        series.c.modality,
        series.c.body_part_examined,
    )
    query = apply_filter(joined_series(*columns), where, principal).order_by(
        collection.c.name, patient.c.patient_id, study.c.study_instance_uid, series.c.series_instance_uid
    )
    subjects: list[SubjectRow] = []
    current: dict[str, Any] | None = None
    studies: dict[int, tuple[str, list[SeriesRef]]] = {}

    def close() -> None:
        if current is None:
            return
        subjects.append(
            SubjectRow(
                collection=current["collection"],
                patient_id=current["patient_id"],
                pk=current["pk"],
                modalities=tuple(sorted(current["modalities"])),
                body_parts=tuple(sorted(current["body_parts"])),
                studies=tuple(SubjectStudy(pk, uid, tuple(refs)) for pk, (uid, refs) in studies.items()),
            )
        )

    with engine.connect() as conn:
        for (
            name,
            patient_pk,
            patient_id,
            study_pk,
            study_uid,
            series_pk,
            series_uid,
            modality,
            part,
        ) in conn.execute(query):
            if current is None or current["pk"] != patient_pk:
                close()
                current = {
                    "collection": name,
                    "patient_id": patient_id,
                    "pk": patient_pk,
                    "modalities": set(),
                    "body_parts": set(),
                }
                studies = {}
            if modality:
                current["modalities"].add(modality)
            current["body_parts"].add(part.upper() if part else NOT_SPECIFIED)
            studies.setdefault(study_pk, (study_uid, []))[1].append(
                SeriesRef(series_pk, series_uid, modality)
            )
    close()
    return subjects


def _sort_key(field: SortField) -> Any:
    if field is SortField.SUBJECT:
        return lambda s: (s.patient_id, s.collection)
    if field is SortField.STUDIES:
        return lambda s: (s.total_studies, s.collection, s.patient_id)
    if field is SortField.SERIES:
        return lambda s: (s.total_series, s.collection, s.patient_id)
    return lambda s: (s.collection, s.patient_id)


def search_subjects(
    engine: Engine,
    where: SeriesFilter,
    *,
    principal: Principal,
    sort: SortField = SortField.COLLECTION,
    ascending: bool = True,
    start: int = 0,
    size: int = 25,
) -> SubjectPage:
    """Subjects with a matching series, sorted and paged, with facet counts over all of them."""
    subjects = sorted(_subjects(engine, where, principal), key=_sort_key(sort), reverse=not ascending)
    collections: Counter[str] = Counter(s.collection for s in subjects)
    modalities: Counter[str] = Counter(m for s in subjects for m in s.modalities)
    body_parts: Counter[str] = Counter(b for s in subjects for b in s.body_parts)
    return SubjectPage(
        total_patients=len(subjects),
        subjects=subjects[max(start, 0) : max(start, 0) + max(size, 0)],
        collections=dict(sorted(collections.items())),
        modalities=dict(sorted(modalities.items())),
        body_parts=dict(sorted(body_parts.items())),
    )
