"""MD5 digests of the DICOM hierarchy, as TCIA's getMD5Hierarchy computes them.

A series' digest is the MD5 of its instances' MD5 hex strings, sorted and
concatenated; a study's is the same over its series' digests, a patient's over
its studies', a collection's over its patients'. Two archives holding the same
files therefore agree on every digest, whatever their storage — which is what
a mirror or a downloader checks.

Instance MD5s are recorded at ingest; rows ingested before that (catalogue
revision 0001) are hashed from storage on demand by the ``md5_of`` callback.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import Engine

from ria.access.principal import Principal
from ria.catalog.schema import instance, patient, series, study
from ria.catalog.search import SeriesFilter, apply_filter, joined_series

__all__ = ["md5_hierarchy"]


def _digest(parts: Iterable[str]) -> str:
    return hashlib.md5("".join(sorted(parts)).encode("ascii"), usedforsecurity=False).hexdigest()


def md5_hierarchy(
    engine: Engine, where: SeriesFilter, principal: Principal, md5_of: Callable[[str], str]
) -> str | None:
    """The digest of everything ``where`` selects, at the highest level it names; ``None`` if nothing.

    The level is the most specific one the filter pins: series, then study,
    then patient, then collection. ``md5_of(blob_key)`` supplies MD5s the
    catalogue lacks.
    """
    query = apply_filter(
        joined_series(patient.c.id, study.c.id, series.c.id, instance.c.md5, instance.c.blob_key).join(
            instance, instance.c.series_pk == series.c.id
        ),
        where,
        principal,
    )
    by_series: dict[int, list[str]] = defaultdict(list)
    study_of: dict[int, int] = {}
    patient_of: dict[int, int] = {}
    with engine.connect() as conn:
        for patient_pk, study_pk, series_pk, md5, key in conn.execute(query):
            by_series[series_pk].append(md5 or md5_of(key))
            study_of[series_pk] = study_pk
            patient_of[study_pk] = patient_pk
    if not by_series:
        return None
    series_digests = {pk: _digest(parts) for pk, parts in by_series.items()}
    if where.series_instance_uid is not None:
        return (
            _digest(series_digests.values())
            if len(series_digests) > 1
            else next(iter(series_digests.values()))
        )
    by_study: dict[int, list[str]] = defaultdict(list)
    for pk, value in series_digests.items():
        by_study[study_of[pk]].append(value)
    study_digests = {pk: _digest(parts) for pk, parts in by_study.items()}
    if where.study_instance_uid is not None and len(study_digests) == 1:
        return next(iter(study_digests.values()))
    by_patient: dict[int, list[str]] = defaultdict(list)
    for pk, value in study_digests.items():
        by_patient[patient_of[pk]].append(value)
    patient_digests = [_digest(parts) for parts in by_patient.values()]
    if where.patient_id is not None and len(patient_digests) == 1:
        return patient_digests[0]
    return _digest(patient_digests)
