"""Read-side queries over the catalogue: what the API and CLI show.

Plain functions over a connection-providing engine, returning typed rows, so
a notebook, a route and a CLI command ask the same question the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, distinct, func, select

from ria.access.principal import OPERATOR, Principal
from ria.catalog.schema import collection, instance, patient, series, study
from ria.catalog.search import (
    ALL_SERIES,
    InstanceRow,
    PatientRow,
    SeriesFilter,
    SeriesRow,
    StudyRow,
    ValueField,
    distinct_values,
    find_instance,
    iter_instances,
    iter_patients,
    iter_series,
    iter_studies,
    iter_values,
    list_instances,
    list_patients,
    list_studies,
    value_counts,
)
from ria.catalog.visibility import visible_collections

__all__ = ["Catalog", "CollectionInfo", "CollectionStats"]

_UID_BATCH = 500  # UIDs per IN (...) list: well under every database's parameter limit


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection's descriptive record: what citations and licences are built from."""

    name: str
    description: str | None
    doi: str | None
    license_name: str | None
    license_uri: str | None
    created_at: dt.datetime
    deid_profile: str | None = None
    """The de-identification profile every ingest into this collection must apply, if any."""
    # Governance (issue 5): who may see it, and its ISS group's publication embargo
    # (ria.access.embargo turns these into a status and a notice at any moment).
    cancer_type: str | None = None
    access_level: str = "public"
    restricted_until_embargo_end: bool = False
    embargo_threshold: int = 100
    embargo_window_days: int = 365
    hundredth_case_at: dt.datetime | None = None
    embargo_ends_at: dt.datetime | None = None
    embargo_set_by_curator: bool = False

    @property
    def doi_url(self) -> str | None:
        """The DOI as a resolvable URL (TCIA's DataDescriptionURI)."""
        if self.doi is None:
            return None
        return self.doi if self.doi.startswith("http") else f"https://doi.org/{self.doi}"


@dataclass(frozen=True, slots=True)
class CollectionStats:
    """Counts for one collection."""

    name: str
    patients: int
    studies: int
    series: int
    instances: int
    bytes: int
    modalities: tuple[str, ...]
    created_at: dt.datetime
    # Governance (issue 5), evaluated when listed: the embargo lifts by itself at its end.
    access_level: str = "public"
    embargo_status: str = "none"
    embargo_ends_at: dt.datetime | None = None
    embargo_notice: str | None = None

    def to_json(self) -> dict[str, object]:
        """The shape the CLI (``--json``) and ``/api/v1/collections`` both print."""
        return {
            "name": self.name,
            "patients": self.patients,
            "studies": self.studies,
            "series": self.series,
            "instances": self.instances,
            "bytes": self.bytes,
            "modalities": list(self.modalities),
            "created_at": self.created_at.isoformat(),
            "access_level": self.access_level,
            "embargo_status": self.embargo_status,
            "embargo_ends_at": None if self.embargo_ends_at is None else self.embargo_ends_at.isoformat(),
            "embargo_notice": self.embargo_notice,
        }


_COLLECTION_INFO = select(
    collection.c.name,
    collection.c.description,
    collection.c.doi,
    collection.c.license_name,
    collection.c.license_uri,
    collection.c.created_at,
    collection.c.deid_profile,
    collection.c.cancer_type,
    collection.c.access_level,
    collection.c.restricted_until_embargo_end,
    collection.c.embargo_threshold,
    collection.c.embargo_window_days,
    collection.c.hundredth_case_at,
    collection.c.embargo_ends_at,
    collection.c.embargo_set_by_curator,
)


def _embargo_columns(row: Any, at: dt.datetime) -> dict[str, Any]:
    """A collection's access level and its embargo as seen at ``at`` (status, aware end, notice)."""
    from ria.access.embargo import embargo_notice, embargo_status
    from ria.catalog.accrual import as_utc

    facts = CollectionInfo(row.name, None, None, None, None, at, embargo_ends_at=row.embargo_ends_at)
    return {
        "access_level": row.access_level,
        "embargo_status": embargo_status(facts, at),
        "embargo_ends_at": as_utc(row.embargo_ends_at),
        "embargo_notice": embargo_notice(facts, at),
    }


class Catalog:
    """Read access to the catalogue.

    Every query reads only what its ``principal`` may see. The parameter defaults to
    :data:`~ria.access.OPERATOR` so that a notebook reading its own local archive
    (``archive.catalog.series(...)``) need not know about principals, as the CLI acts as the
    operator. The servers must never fall back on that default: every call inside the
    package passes ``principal=`` explicitly, which ``tests/catalog/test_principal_default.py``
    checks over the source tree (an omitted argument is a test failure, not a silent
    operator read).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collection_names(self, *, principal: Principal = OPERATOR) -> list[str]:
        """Visible collections that hold at least one series, sorted by name (TCIA's getCollectionValues)."""
        return distinct_values(self.engine, "collection", ALL_SERIES, principal)

    def collections(self, *, principal: Principal = OPERATOR) -> list[CollectionInfo]:
        """Every visible collection's descriptive record, sorted by name (including empty collections)."""
        query = _COLLECTION_INFO.where(visible_collections(principal)).order_by(collection.c.name)
        with self.engine.connect() as conn:
            return [CollectionInfo(*row) for row in conn.execute(query)]

    def collection(self, name: str, *, principal: Principal = OPERATOR) -> CollectionInfo | None:
        """One collection's descriptive record, or ``None`` if there is none ``principal`` may see."""
        query = _COLLECTION_INFO.where(collection.c.name == name, visible_collections(principal))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else CollectionInfo(*row)

    def collection_stats(self, *, principal: Principal = OPERATOR) -> list[CollectionStats]:
        """Patients, studies, series, instances, bytes and modalities per collection."""
        counts = (
            select(
                collection.c.name,
                collection.c.created_at,
                func.count(distinct(patient.c.id)),
                func.count(distinct(study.c.id)),
                func.count(distinct(series.c.id)),
                func.coalesce(func.sum(series.c.image_count), 0),
                func.coalesce(func.sum(series.c.file_size), 0),
            )
            .select_from(collection)
            .outerjoin(patient, patient.c.collection_id == collection.c.id)
            .outerjoin(study, study.c.patient_pk == patient.c.id)
            .outerjoin(series, series.c.study_pk == study.c.id)
            .where(visible_collections(principal))
            .group_by(collection.c.id, collection.c.name, collection.c.created_at)
            .order_by(collection.c.name)
        )
        modalities = (
            select(collection.c.name, series.c.modality)
            .join(patient, patient.c.collection_id == collection.c.id)
            .join(study, study.c.patient_pk == patient.c.id)
            .join(series, series.c.study_pk == study.c.id)
            .where(series.c.modality.is_not(None), visible_collections(principal))
            .distinct()
        )
        with self.engine.connect() as conn:
            by_collection: dict[str, set[str]] = {}
            for name, modality in conn.execute(modalities):
                by_collection.setdefault(name, set()).add(modality)
            terms = {
                row.name: row
                for row in conn.execute(
                    select(collection.c.name, collection.c.access_level, collection.c.embargo_ends_at)
                )
            }
            return [
                CollectionStats(
                    name=name,
                    patients=int(n_patients),
                    studies=int(n_studies),
                    series=int(n_series),
                    instances=int(n_instances),
                    bytes=int(n_bytes),
                    modalities=tuple(sorted(by_collection.get(name, ()))),
                    created_at=created,
                    **_embargo_columns(terms[name], principal.now()),
                )
                for name, created, n_patients, n_studies, n_series, n_instances, n_bytes in conn.execute(
                    counts
                )
            ]

    def series(self, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR) -> list[SeriesRow]:
        """Matching series (see :mod:`ria.catalog.search`); use :meth:`iter_series` to stream."""
        return list(iter_series(self.engine, where, principal))

    def iter_series(
        self, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR
    ) -> Iterator[SeriesRow]:
        """:meth:`series` from a server-side cursor: close the iterator to release its connection early."""
        return iter_series(self.engine, where, principal)

    def series_by_uid(self, uids: Sequence[str], *, principal: Principal = OPERATOR) -> Iterator[SeriesRow]:
        """The visible series among ``uids``, asked a batch at a time (carts and manifests of any size)."""
        for start in range(0, len(uids), _UID_BATCH):
            where = SeriesFilter(series_instance_uid=tuple(uids[start : start + _UID_BATCH]))
            yield from iter_series(self.engine, where, principal)

    def values(
        self, field: ValueField, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR
    ) -> list[str]:
        """Distinct values of a series facet among matching series (modality, body part, …)."""
        return distinct_values(self.engine, field, where, principal)

    def iter_values(
        self, field: ValueField, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR
    ) -> Iterator[str]:
        return iter_values(self.engine, field, where, principal)

    def value_counts(
        self,
        field: ValueField,
        where: SeriesFilter = ALL_SERIES,
        *,
        principal: Principal = OPERATOR,
        upper: bool = False,
    ) -> list[tuple[str, int]]:
        """Each value of a series facet with its number of distinct patients."""
        return value_counts(self.engine, field, where, principal, upper=upper)

    def patients(
        self, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR
    ) -> list[PatientRow]:
        return list_patients(self.engine, where, principal)

    def studies(self, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR) -> list[StudyRow]:
        return list_studies(self.engine, where, principal)

    def instances(self, series_instance_uid: str, *, principal: Principal = OPERATOR) -> list[InstanceRow]:
        return list_instances(self.engine, series_instance_uid, principal)

    # Streamed twins of the lists above (one server-side cursor each), for responses of any size.

    def iter_patients(
        self, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR
    ) -> Iterator[PatientRow]:
        return iter_patients(self.engine, where, principal)

    def iter_studies(
        self, where: SeriesFilter = ALL_SERIES, *, principal: Principal = OPERATOR
    ) -> Iterator[StudyRow]:
        return iter_studies(self.engine, where, principal)

    def iter_instances(
        self, series_instance_uid: str, *, principal: Principal = OPERATOR
    ) -> Iterator[InstanceRow]:
        return iter_instances(self.engine, series_instance_uid, principal)

    def instance(
        self,
        sop_instance_uid: str,
        series_instance_uid: str | None = None,
        *,
        principal: Principal = OPERATOR,
    ) -> InstanceRow | None:
        """One instance by SOPInstanceUID, optionally only within the given series."""
        return find_instance(self.engine, sop_instance_uid, principal, series_instance_uid)

    def instances_with_study(self, sop_instance_uids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
        """(SOPClassUID, StudyInstanceUID, SeriesInstanceUID) of each catalogued instance among
        ``sop_instance_uids``, by SOPInstanceUID; one query per batch of UIDs, not per instance."""
        wanted = list(dict.fromkeys(sop_instance_uids))
        found: dict[str, tuple[str, str, str]] = {}
        base = (
            select(
                instance.c.sop_instance_uid,
                instance.c.sop_class_uid,
                study.c.study_instance_uid,
                series.c.series_instance_uid,
            )
            .select_from(instance.join(series, instance.c.series_pk == series.c.id))
            .join(study, series.c.study_pk == study.c.id)
        )
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _UID_BATCH):
                chunk = wanted[start : start + _UID_BATCH]
                for uid, sop_class, study_uid, series_uid in conn.execute(
                    base.where(instance.c.sop_instance_uid.in_(chunk))
                ):
                    found[uid] = (sop_class, study_uid, series_uid)
        return found

    def study_in_collection(self, study_instance_uid: str, collection_name: str) -> bool:
        """Whether a study is filed in the named collection (per-collection service roots)."""
        query = (
            select(study.c.id)
            .select_from(study.join(patient, study.c.patient_pk == patient.c.id))
            .join(collection, patient.c.collection_id == collection.c.id)
            .where(study.c.study_instance_uid == study_instance_uid, collection.c.name == collection_name)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def instance_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(instance)).scalar_one())
