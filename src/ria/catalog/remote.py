"""Remote series becoming local: the catalogue side of fetching one from a mirror.

A remote series (IDC's index, :mod:`ria.idc`) is a row with ``is_remote`` and the
index's counts. Fetching it ingests its files through the normal writer, which
files instances under the existing series row but leaves a remote series' counters
alone (they stay the index's until the series is local), and then
:func:`promote_to_local` flips the row in one transaction: ``is_remote`` off, counts
and sizes recomputed from the instance rows. So a crash leaves the series either
still remote (with some instances already filed, which a rerun sees as duplicates)
or fully local, never a local series with half its counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, func, select, update

from ria.catalog.accrual import refresh_embargo_of_series
from ria.catalog.schema import collection, instance, patient, series, study

__all__ = ["SeriesOrigin", "promote_to_local", "remote_series", "series_origin"]


@dataclass(frozen=True, slots=True)
class SeriesOrigin:
    """Where a series sits in the tree and where its files come from."""

    series_instance_uid: str
    study_instance_uid: str
    patient_id: str
    collection: str
    is_remote: bool
    source_url: str | None
    image_count: int
    file_size: int


def _origin_query() -> Select[Any]:
    return (
        select(
            series.c.series_instance_uid,
            study.c.study_instance_uid,
            patient.c.patient_id,
            collection.c.name,
            series.c.is_remote,
            series.c.source_url,
            series.c.image_count,
            series.c.file_size,
        )
        .join(study, study.c.id == series.c.study_pk)
        .join(patient, patient.c.id == study.c.patient_pk)
        .join(collection, collection.c.id == patient.c.collection_id)
    )


def series_origin(engine: Engine, series_instance_uid: str) -> SeriesOrigin | None:
    """The series' place and origin, local or remote; ``None`` if it is not catalogued."""
    with engine.connect() as conn:
        row = conn.execute(_origin_query().where(series.c.series_instance_uid == series_instance_uid)).first()
    return None if row is None else SeriesOrigin(*row)


def remote_series(
    engine: Engine,
    *,
    collection_name: str | None = None,
    study_instance_uid: str | None = None,
    series_instance_uids: Sequence[str] | None = None,
) -> list[SeriesOrigin]:
    """Remote series of a collection, a study or a list of UIDs (any combination), in UID order."""
    query = _origin_query().where(series.c.is_remote.is_(True)).order_by(series.c.series_instance_uid)
    if collection_name is not None:
        query = query.where(collection.c.name == collection_name)
    if study_instance_uid is not None:
        query = query.where(study.c.study_instance_uid == study_instance_uid)
    if series_instance_uids is not None:
        query = query.where(series.c.series_instance_uid.in_(list(series_instance_uids)))
    with engine.connect() as conn:
        return [SeriesOrigin(*row) for row in conn.execute(query)]


def promote_to_local(engine: Engine, series_instance_uid: str, now: dt.datetime) -> SeriesOrigin | None:
    """Make a remote series local, its counts those of its instance rows; one transaction.

    Idempotent: an already-local series is left as it is. ``source_url`` is kept as
    provenance. The row is locked first (PostgreSQL), so a writer that filed
    instances under it commits before they are counted; the counts are read by the
    update statement itself, so none committed meanwhile is missed (SQLite
    serialises writers, the update sees every committed row). Returns the series
    as it is afterwards, ``None`` if it is not catalogued.
    """
    counted = select(func.count(instance.c.id)).where(instance.c.series_pk == series.c.id).scalar_subquery()
    summed = (
        select(func.coalesce(func.sum(instance.c.size), 0))
        .where(instance.c.series_pk == series.c.id)
        .scalar_subquery()
    )
    with engine.begin() as conn:
        conn.execute(
            select(series.c.id).where(series.c.series_instance_uid == series_instance_uid).with_for_update()
        ).first()
        conn.execute(
            update(series)
            .where(series.c.series_instance_uid == series_instance_uid, series.c.is_remote.is_(True))
            .values(is_remote=False, image_count=counted, file_size=summed, updated_at=now)
        )
        # Now held locally, the series may accrue its patient (and bring the collection to its embargo).
        refresh_embargo_of_series(conn, series_instance_uid)
        row = conn.execute(_origin_query().where(series.c.series_instance_uid == series_instance_uid)).first()
    return None if row is None else SeriesOrigin(*row)
