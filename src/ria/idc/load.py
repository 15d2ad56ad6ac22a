"""Filing IDC's series index into the catalogue as remote (metadata-only) series.

Each batch of index rows is one transaction per collection: patients, studies
and series are looked up by their keys, the new ones inserted with one
``executemany`` per table, changed remote series updated in place. So a rerun
adds nothing twice, an interrupted import keeps what it committed and the next
run completes it, and the whole of TCGA (≈ 76,000 series) loads in seconds.

Rules, per series row:

* SeriesInstanceUID not catalogued → added as a remote series (``is_remote``,
  ``source_url`` = IDC's ``s3://`` folder, counts from the index);
* catalogued as a *local* series → left alone (the archive's own bytes and
  headers beat an index entry) and counted as ``skipped_local``;
* catalogued as a remote series of the same study → updated in place if any
  indexed value changed, else ``unchanged``;
* its study (or the series) already filed under another patient, collection or
  study → ``conflict``, left alone: the hierarchy stays a tree.

Existing patients and studies keep their values (only a missing patient sex is
filled in). Collections get their DOI, licence and, for TCGA, cancer type
where the catalogue has none yet: what a curator set is not overwritten.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ria.archive import Archive
from ria.catalog.accrual import site_code_of
from ria.catalog.database import refresh_statistics
from ria.catalog.schema import collection, patient, series, study
from ria.errors import ConflictError
from ria.idc.index import IdcSeries, open_index
from ria.idc.vocabulary import choose_doi, collection_description, licence, normalise_doi, tcia_name

__all__ = ["CollectionImport", "IdcImportReport", "ImportProgress", "import_idc"]

log = logging.getLogger(__name__)
_CHUNK = 500  # keys per IN (...) list: well under every database's parameter limit
_RETRIES = 5
_FIRST_REFRESH = (
    2000  # series added before PostgreSQL's statistics are refreshed (then four times more each time)
)

_STUDY_VALUES = ("study_date", "study_description", "patient_age")
# Series values the index provides, compared on a rerun to decide whether a remote series changed.
_SERIES_VALUES = (
    "modality",
    "series_date",
    "series_description",
    "body_part_examined",
    "series_number",
    "manufacturer",
    "manufacturer_model_name",
    "image_count",
    "file_size",
    "source_url",
)


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Passed to the progress callback after each committed batch: series handled so far, of ``total``."""

    collection: str
    done: int
    total: int


ProgressCallback = Callable[[ImportProgress], None]


@dataclass
class CollectionImport:
    """What one collection's import did."""

    name: str
    idc_id: str
    rows: int = 0
    patients_added: int = 0
    studies_added: int = 0
    series_added: int = 0
    series_updated: int = 0
    series_unchanged: int = 0
    series_skipped_local: int = 0
    series_conflicts: int = 0
    doi: str | None = None
    license_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "idc_id": self.idc_id,
            "rows": self.rows,
            "patients_added": self.patients_added,
            "studies_added": self.studies_added,
            "series_added": self.series_added,
            "series_updated": self.series_updated,
            "series_unchanged": self.series_unchanged,
            "series_skipped_local": self.series_skipped_local,
            "series_conflicts": self.series_conflicts,
            "doi": self.doi,
            "license_name": self.license_name,
        }


_TOTALS = (
    "rows",
    "patients_added",
    "studies_added",
    "series_added",
    "series_updated",
    "series_unchanged",
    "series_skipped_local",
    "series_conflicts",
)


@dataclass
class IdcImportReport:
    """The outcome of :func:`import_idc`: per collection, totals, and how long it took."""

    parquet: str
    index_version: str | None
    collections: list[CollectionImport] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, name: str) -> int:
        """Sum of one counter (e.g. ``series_added``) over all collections."""
        if name not in _TOTALS:
            raise KeyError(name)
        return sum(int(getattr(c, name)) for c in self.collections)

    def summary(self) -> str:
        """One line a person reads: what was added, updated, left alone, and how fast."""
        return (
            f"IDC index {self.index_version or 'unknown version'}: {len(self.collections)} collections, "
            f"{self.total('patients_added')} patients, {self.total('studies_added')} studies, "
            f"{self.total('series_added')} series added, {self.total('series_updated')} updated, "
            f"{self.total('series_unchanged')} unchanged, "
            f"{self.total('series_skipped_local')} skipped (local), "
            f"{self.total('series_conflicts')} conflicts ({self.seconds:.1f} s)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "parquet": self.parquet,
            "index_version": self.index_version,
            "seconds": round(self.seconds, 3),
            "totals": {name: self.total(name) for name in _TOTALS},
            "collections": [c.to_json() for c in self.collections],
        }


@dataclass
class _State:
    """A collection's import in progress: its key, its patients' keys, and the DOIs/licences seen."""

    report: CollectionImport
    pk: int | None = None
    patients: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    original_dois: Counter[str] = field(default_factory=Counter)
    all_dois: Counter[str] = field(default_factory=Counter)
    original_licences: Counter[str] = field(default_factory=Counter)
    all_licences: Counter[str] = field(default_factory=Counter)


@dataclass
class _Tally:
    """One transaction's counts, added to the report only once it commits."""

    patients: int = 0
    studies: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    local: int = 0
    conflicts: int = 0


def import_idc(
    archive: Archive,
    collections: Sequence[str] | None = None,
    *,
    parquet: Path | None = None,
    progress: ProgressCallback | None = None,
) -> IdcImportReport:
    """File IDC's series of ``collections`` (IDC ids or TCIA names; default all TCGA) as remote series.

    ``parquet`` defaults to the index the ``idc-index-data`` package installed.
    Idempotent; see the module documentation for what happens to each row.
    """
    started = time.perf_counter()
    index = open_index(parquet)
    ids = index.resolve(collections)
    total = sum(index.counts[i] for i in ids)
    states = {i: _State(CollectionImport(name=tcia_name(i), idc_id=i)) for i in ids}
    report = IdcImportReport(parquet=str(index.path), index_version=index.version)
    done, added, refresh_at = 0, 0, _FIRST_REFRESH
    refresh_statistics(archive.engine, ("patient", "study", "series"))
    for batch in index.iter_batches(ids):
        groups: dict[str, list[IdcSeries]] = {}
        for row in batch:
            groups.setdefault(row.collection_id, []).append(row)
        for idc_id, rows in groups.items():
            state = states[idc_id]
            tally = _write_with_retries(archive.engine, state, rows)
            _account(state, rows, tally)
            done += len(rows)
            added += tally.added
            if added >= refresh_at:
                refresh_statistics(archive.engine, ("patient", "study", "series"))
                refresh_at *= 4
            if progress is not None:
                progress(ImportProgress(collection=state.report.name, done=done, total=total))
    for idc_id in ids:
        state = states[idc_id]
        if state.report.rows:
            _describe(archive.engine, state)
        report.collections.append(state.report)
    if added:  # the queries that follow a load plan on its final size, not the last refresh's
        refresh_statistics(archive.engine, ("patient", "study", "series"))
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return report


def _write_with_retries(engine: Engine, state: _State, rows: Sequence[IdcSeries]) -> _Tally:
    for attempt in range(1, _RETRIES + 1):
        try:
            with engine.begin() as conn:
                return _write(conn, state, rows, dt.datetime.now(dt.UTC))
        except (IntegrityError, OperationalError) as exc:
            # A concurrent writer (an ingest, another import) added the same patient, study or
            # series between our read and our write: forget the cached keys, re-read, retry.
            state.pk = None
            state.patients.clear()
            cause = type(getattr(exc, "orig", None) or exc).__name__
            if attempt == _RETRIES:
                raise ConflictError(
                    f"IDC import of {state.report.name} kept colliding with another writer ({cause}); "
                    "run it again"
                ) from exc
            log.debug("IDC batch collided (attempt %d): %s", attempt, cause)
    raise AssertionError("unreachable")


def _account(state: _State, rows: Sequence[IdcSeries], tally: _Tally) -> None:
    r = state.report
    r.rows += len(rows)
    r.patients_added += tally.patients
    r.studies_added += tally.studies
    r.series_added += tally.added
    r.series_updated += tally.updated
    r.series_unchanged += tally.unchanged
    r.series_skipped_local += tally.local
    r.series_conflicts += tally.conflicts
    for row in rows:
        doi = normalise_doi(row.doi) if row.doi else None
        original = row.analysis_result_id is None
        if doi:
            state.all_dois[doi] += 1
            if original:
                state.original_dois[doi] += 1
        if row.license_short_name:
            state.all_licences[row.license_short_name] += 1
            if original:
                state.original_licences[row.license_short_name] += 1


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _clip(value: str | None, column: Column[Any]) -> str | None:
    """Cut a string to its column's length: PostgreSQL refuses longer ones, and these are descriptive."""
    length = getattr(column.type, "length", None)
    if value is None or length is None or len(value) <= length:
        return value
    return value[:length]


def _write(conn: Connection, state: _State, rows: Sequence[IdcSeries], now: dt.datetime) -> _Tally:
    tally = _Tally()
    if state.pk is None:
        state.pk = _ensure_collection(conn, state.report.name, now)
    collection_pk = state.pk
    patients = _patients(conn, state, rows, now, tally)

    # Studies: the first row of a study names its patient, and each value is the first one given, by
    # the study's original series first: IDC files later analyses (segmentations, annotations) in
    # the study they analyse, with their own StudyDate. An existing study must belong to the same
    # patient of the same collection, else its series conflict.
    new_values: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r.analysis_result_id is not None):
        values = new_values.setdefault(
            row.study_instance_uid,
            {
                "patient_id": row.patient_id,
                "study_date": None,
                "study_description": None,
                "patient_age": None,
            },
        )
        for name in _STUDY_VALUES:
            if values[name] is None:
                values[name] = getattr(row, name)
    owners = _study_owners(conn, list(new_values))
    new_studies = {uid: values for uid, values in new_values.items() if uid not in owners}
    if new_studies:
        conn.execute(
            insert(study),
            [
                {
                    "patient_pk": patients[values["patient_id"]],
                    "study_instance_uid": uid,
                    "study_date": values["study_date"],
                    "study_description": _clip(values["study_description"], study.c.study_description),
                    "patient_age": _clip(values["patient_age"], study.c.patient_age),
                    "created_at": now,
                }
                for uid, values in new_studies.items()
            ],
        )
        owners.update(_study_owners(conn, list(new_studies)))
        tally.studies = len(new_studies)

    existing = _existing_series(conn, sorted({row.series_instance_uid for row in rows}))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        if row.series_instance_uid in seen:
            tally.unchanged += 1
            continue
        seen.add(row.series_instance_uid)
        study_pk, owner_patient, owner_collection = owners[row.study_instance_uid]
        values = _series_values(row)
        found = existing.get(row.series_instance_uid)
        if owner_patient != row.patient_id or owner_collection != collection_pk:
            tally.conflicts += 1
        elif found is None:
            inserts.append(
                {
                    "study_pk": study_pk,
                    "series_instance_uid": row.series_instance_uid,
                    **values,
                    "is_remote": True,
                    "ingested_at": now,
                    "updated_at": now,
                    "released_at": now,
                }
            )
        elif not found["is_remote"]:
            tally.local += 1
        elif found["study_pk"] != study_pk:
            tally.conflicts += 1
        elif any(found[name] != values[name] for name in _SERIES_VALUES):
            updates.append({"pk": found["id"], **{f"v_{k}": v for k, v in values.items()}})
        else:
            tally.unchanged += 1
    if inserts:
        conn.execute(insert(series), inserts)
        tally.added = len(inserts)
    if updates:
        conn.execute(
            update(series)
            .where(series.c.id == bindparam("pk"))
            .values(updated_at=now, **{name: bindparam(f"v_{name}") for name in _SERIES_VALUES}),
            updates,
        )
        tally.updated = len(updates)
    return tally


def _series_values(row: IdcSeries) -> dict[str, Any]:
    return {
        "modality": _clip(row.modality, series.c.modality),
        "series_date": row.series_date,
        "series_description": _clip(row.series_description, series.c.series_description),
        "body_part_examined": _clip(row.body_part_examined, series.c.body_part_examined),
        "series_number": row.series_number,
        "manufacturer": _clip(row.manufacturer, series.c.manufacturer),
        "manufacturer_model_name": _clip(row.manufacturer_model_name, series.c.manufacturer_model_name),
        "image_count": row.image_count,
        "file_size": row.file_size,
        "source_url": row.source_url,
    }


def _patients(
    conn: Connection, state: _State, rows: Sequence[IdcSeries], now: dt.datetime, tally: _Tally
) -> dict[str, int]:
    """PatientID → key for every patient of ``rows``, inserting new ones; fills in a missing sex."""
    assert state.pk is not None
    sex: dict[str, str | None] = {}
    for row in rows:
        if sex.get(row.patient_id) is None:
            sex[row.patient_id] = _clip(row.patient_sex, patient.c.patient_sex)
    unknown = sorted(pid for pid in sex if pid not in state.patients)
    for chunk in _chunks(unknown):
        query = select(patient.c.patient_id, patient.c.id, patient.c.patient_sex).where(
            and_(patient.c.collection_id == state.pk, patient.c.patient_id.in_(chunk))
        )
        state.patients.update({pid: (pk, known_sex) for pid, pk, known_sex in conn.execute(query)})
    new = [pid for pid in unknown if pid not in state.patients]
    if new:
        conn.execute(
            insert(patient),
            [
                {
                    "collection_id": state.pk,
                    "patient_id": _clip(pid, patient.c.patient_id),
                    "site_code": site_code_of(pid),
                    "patient_sex": sex[pid],
                    "created_at": now,
                }
                for pid in new
            ],
        )
        for chunk in _chunks(new):
            query = select(patient.c.patient_id, patient.c.id, patient.c.patient_sex).where(
                and_(patient.c.collection_id == state.pk, patient.c.patient_id.in_(chunk))
            )
            state.patients.update({pid: (pk, known_sex) for pid, pk, known_sex in conn.execute(query)})
        tally.patients = len(new)
    fill = {pid: value for pid, value in sex.items() if value is not None and state.patients[pid][1] is None}
    if fill:
        conn.execute(
            update(patient).where(patient.c.id == bindparam("pk")).values(patient_sex=bindparam("v_sex")),
            [{"pk": state.patients[pid][0], "v_sex": value} for pid, value in fill.items()],
        )
        state.patients.update({pid: (state.patients[pid][0], value) for pid, value in fill.items()})
    return {pid: state.patients[pid][0] for pid in sex}


def _ensure_collection(conn: Connection, name: str, now: dt.datetime) -> int:
    pk = conn.execute(select(collection.c.id).where(collection.c.name == name)).scalar()
    if pk is None:
        pk = conn.execute(
            insert(collection).values(name=name, created_at=now).returning(collection.c.id)
        ).scalar_one()
    return int(pk)


def _study_owners(conn: Connection, uids: Sequence[str]) -> dict[str, tuple[int, str, int]]:
    """StudyInstanceUID → (study key, PatientID, collection key) for the studies that exist."""
    found: dict[str, tuple[int, str, int]] = {}
    for chunk in _chunks(sorted(uids)):
        query = (
            select(study.c.study_instance_uid, study.c.id, patient.c.patient_id, patient.c.collection_id)
            .join(patient, patient.c.id == study.c.patient_pk)
            .where(study.c.study_instance_uid.in_(chunk))
        )
        found.update({uid: (pk, pid, coll) for uid, pk, pid, coll in conn.execute(query)})
    return found


def _existing_series(conn: Connection, uids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """SeriesInstanceUID → its key, study key, remoteness and indexed values, for the series that exist."""
    columns = [series.c.series_instance_uid, series.c.id, series.c.study_pk, series.c.is_remote]
    columns += [series.c[name] for name in _SERIES_VALUES]
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(uids):
        for row in conn.execute(select(*columns).where(series.c.series_instance_uid.in_(chunk))):
            found[row.series_instance_uid] = dict(row._mapping)
    return found


def _describe(engine: Engine, state: _State) -> None:
    """Fill in the collection's DOI, licence and description where the catalogue has none."""
    doi = choose_doi(state.original_dois, state.all_dois)
    licences = state.original_licences or state.all_licences
    chosen = (
        licence(min(licences.most_common(), key=lambda item: (-item[1], item[0]))[0]) if licences else None
    )
    state.report.doi = doi
    state.report.license_name = chosen.name if chosen else None
    wanted: dict[str, str | None] = {
        "doi": doi,
        "license_name": chosen.name if chosen else None,
        "license_uri": chosen.uri if chosen else None,
        "description": collection_description(state.report.idc_id),
    }
    with engine.begin() as conn:
        current = conn.execute(
            select(
                collection.c.doi,
                collection.c.license_name,
                collection.c.license_uri,
                collection.c.description,
            ).where(collection.c.name == state.report.name)
        ).one()
        missing = {
            name: value
            for name, value in wanted.items()
            if value is not None and getattr(current, name) is None
        }
        if missing.get("license_name") is None:
            # A licence name and its URI go together: never pair a curator's licence with our URI.
            missing.pop("license_uri", None)
        if missing:
            conn.execute(update(collection).where(collection.c.name == state.report.name).values(**missing))
