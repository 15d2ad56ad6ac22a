"""Accrual: which patients a collection has received, from which site and when, and the embargo that implies.

A patient is *accrued* once at least one of their series is held locally (remote series from
an index are catalogue rows, not contributed images), dated by the first ingest of those
series (``min(series.ingested_at)``). The TCGA publication guidelines gave a collection's
Imaging Source Site group a window (default one year) to publish first, counted from the day
the collection accrued its 100th case; :func:`refresh_embargo` keeps ``hundredth_case_at`` and
``embargo_ends_at`` on the ``collection`` row right, because the visibility rule
(:mod:`ria.catalog.visibility`) reads them directly.

:func:`refresh_embargo` runs inside the writer's transaction, so an embargo can never be
committed without the rows that reached it, nor those rows without it (a crash loses both or
neither). It is cheap: once the date is set, or while a curator's date rules, it is one primary
key lookup; until then one aggregate over the collection's local series. It locks the
collection row before counting, so two writers that reach the threshold together cannot each
miss the other's patients (PostgreSQL re-reads committed rows after the lock; SQLite
serialises writers anyway).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select, update

from ria.catalog.schema import as_utc, collection, patient, series, study

__all__ = [
    "AccruedCase",
    "accrued_cases",
    "as_utc",
    "nth_case_at",
    "refresh_embargo",
    "refresh_embargo_of_series",
    "site_code_of",
]

# The participant head of a TCGA barcode (the rule of ria.genomics.barcode.TcgaBarcode.parse), kept
# here so the catalogue's writer does not import the genomics services: TCGA-<site>-<participant>.
_PARTICIPANT = re.compile(r"TCGA-([A-Z0-9]{2})-[A-Z0-9]{4}(?![A-Z0-9])")


def site_code_of(patient_id: str | None) -> str | None:
    """The tissue source site code of a TCGA barcode PatientID (``TCGA-05-4244`` → ``05``), else ``None``.

    The site that contributed a patient is what puts it in a collection's ISS group, so a
    PatientID that is not a TCGA barcode gets no site rather than a guessed one.
    """
    if patient_id is None:
        return None
    match = _PARTICIPANT.match(patient_id.strip().upper())
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class AccruedCase:
    """One accrued patient: its collection, contributing site and first local ingest (no PatientID:
    reports count cases, they do not list people)."""

    collection: str
    site_code: str | None
    first_at: dt.datetime


def accrued_cases(engine: Engine, collection_name: str | None = None) -> list[AccruedCase]:
    """Every accrued patient (of one collection, or all), by collection then arrival order."""
    first = func.min(series.c.ingested_at)
    query = (
        select(collection.c.name, patient.c.site_code, first)
        .select_from(collection)
        .join(patient, patient.c.collection_id == collection.c.id)
        .join(study, study.c.patient_pk == patient.c.id)
        .join(series, series.c.study_pk == study.c.id)
        .where(series.c.is_remote.is_(False))
        .group_by(collection.c.name, patient.c.id, patient.c.site_code)
        .order_by(collection.c.name, first, patient.c.id)
    )
    if collection_name is not None:
        query = query.where(collection.c.name == collection_name)
    with engine.connect() as conn:
        return [AccruedCase(name, site, as_utc(first_at)) for name, site, first_at in conn.execute(query)]


def nth_case_at(conn: Connection, collection_pk: int, n: int) -> dt.datetime | None:
    """When the collection accrued its ``n``-th patient (ties: catalogue order), or ``None`` before."""
    if n < 1:
        raise ValueError("n counts cases from 1")
    first = func.min(series.c.ingested_at)
    query = (
        select(first)
        .select_from(patient)
        .join(study, study.c.patient_pk == patient.c.id)
        .join(series, series.c.study_pk == study.c.id)
        .where(patient.c.collection_id == collection_pk, series.c.is_remote.is_(False))
        .group_by(patient.c.id)
        .order_by(first, patient.c.id)
        .offset(n - 1)
        .limit(1)
    )
    return as_utc(conn.execute(query).scalar())


_EMBARGO = select(
    collection.c.hundredth_case_at,
    collection.c.embargo_set_by_curator,
    collection.c.embargo_threshold,
    collection.c.embargo_window_days,
)


def refresh_embargo(conn: Connection, collection_pk: int, *, recompute: bool = False) -> None:
    """Set the collection's embargo dates if it has reached its threshold; part of the caller's transaction.

    Without ``recompute`` (the ingest path) nothing is read beyond the collection row once the
    date is known or a curator set it. With ``recompute`` (threshold, window or start changed)
    both dates are derived again: the curator's start when there is one, else the accrual.
    """
    row = conn.execute(_EMBARGO.where(collection.c.id == collection_pk)).first()
    if row is None or (not recompute and (row.hundredth_case_at is not None or row.embargo_set_by_curator)):
        return
    row = conn.execute(_EMBARGO.where(collection.c.id == collection_pk).with_for_update()).one()
    if row.embargo_set_by_curator:
        start = as_utc(row.hundredth_case_at)
    else:
        start = nth_case_at(conn, collection_pk, int(row.embargo_threshold))
        if start is None and as_utc(row.hundredth_case_at) is None:
            return
    ends = None if start is None else start + dt.timedelta(days=int(row.embargo_window_days))
    conn.execute(
        update(collection)
        .where(collection.c.id == collection_pk)
        .values(hundredth_case_at=start, embargo_ends_at=ends)
    )


def refresh_embargo_of_series(conn: Connection, series_instance_uid: str) -> None:
    """:func:`refresh_embargo` for the collection holding a series (a remote series just made local)."""
    pk = conn.execute(
        select(patient.c.collection_id)
        .join(study, study.c.patient_pk == patient.c.id)
        .join(series, series.c.study_pk == study.c.id)
        .where(series.c.series_instance_uid == series_instance_uid)
    ).scalar()
    if pk is not None:
        refresh_embargo(conn, int(pk))
