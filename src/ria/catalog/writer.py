"""Batched, idempotent catalogue writes.

One call to :meth:`CatalogWriter.write_batch` is one transaction: either every
accepted instance of the batch, its new patients/studies/series and the
series' counters are committed together, or nothing is. Blobs are committed
by the caller *before* this runs, so a row can never point at a missing file.

Decisions, per instance, in this order:

* SOPInstanceUID already catalogued with the same SHA-256 in the same
  collection → ``duplicate`` (nothing changes);
* SOPInstanceUID catalogued with other bytes, or in another collection →
  ``conflict`` (the catalogued object is kept, never overwritten);
* SOPInstanceUID held in quarantine (same bytes, same collection →
  ``duplicate``; otherwise ``conflict``): offering it again, with or without a
  transform, never slips it past the curator;
* study or series UID already filed under a different patient or study →
  ``conflict`` (the hierarchy stays a tree);
* otherwise, if the record carries a quarantine reason → ``quarantined``: one
  row in the quarantine table, outside the served tree, claiming no patient,
  study or series (the collection is not even created);
* otherwise → ``ingested``.

A curator's release (:mod:`ria.catalog.quarantine`) runs through the same
decisions, and deletes the held row in the same transaction as the instance
rows it becomes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, and_, bindparam, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ria.catalog.accrual import refresh_embargo, site_code_of
from ria.catalog.records import InstanceRecord, Outcome, WriteResult
from ria.catalog.schema import collection, instance, patient, quarantine, series, study
from ria.dicom.header import InstanceHeader
from ria.errors import ConflictError

__all__ = ["CatalogWriter"]

log = logging.getLogger(__name__)
_CHUNK = 400
_RETRIES = 5


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Held(NamedTuple):
    id: int
    collection_name: str
    sha256: str


class _ReleaseRaced(Exception):
    """A held row being released vanished (another process released or rejected it): retry."""


class CatalogWriter:
    """Writes batches of :class:`InstanceRecord` into the catalogue.

    ``before_commit`` runs inside the transaction just before it commits; ingest
    uses it to make the batch's blobs durable first.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        before_commit: Callable[[], None] | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self._engine = engine
        self._before_commit = before_commit
        self._clock = clock

    def write_batch(
        self,
        collection_name: str,
        records: Sequence[InstanceRecord],
        *,
        releasing: Mapping[str, int] | None = None,
    ) -> list[WriteResult]:
        """Catalogue ``records`` into ``collection_name`` in one transaction; one result per record.

        Records with a ``quarantine`` reason are held instead (outcome ``quarantined``).
        ``releasing`` (SOPInstanceUID → quarantine row id) marks a curator's release:
        each record that ends up catalogued (``ingested``, or ``duplicate`` of what
        is already there) has its held row deleted in the same transaction, so an
        instance is never both held and served, nor neither; a record whose row is
        gone (rejected meanwhile) is ``rejected``.
        """
        if not records:
            return []
        for attempt in range(1, _RETRIES + 1):
            try:
                with self._engine.begin() as conn:
                    results = self._write(conn, collection_name, records, releasing)
                    if self._before_commit is not None:
                        self._before_commit()
                return results
            except (IntegrityError, OperationalError, _ReleaseRaced) as exc:
                # Another writer inserted the same patient/study/series (or held
                # the lock, or released the same held row) between our read and our
                # write: re-read and retry.
                cause = type(getattr(exc, "orig", None) or exc).__name__
                if attempt == _RETRIES:
                    raise ConflictError(
                        f"catalogue write kept colliding with another writer ({cause}); run the ingest again"
                    ) from exc
                # Only the error class: the statement's parameters hold patient data.
                log.debug("batch write collided (attempt %d): %s", attempt, cause)
        raise AssertionError("unreachable")

    def unreferenced_blobs(self, keys: set[str]) -> set[str]:
        """The subset of ``keys`` that neither an instance row nor a held (quarantined) row references."""
        if not keys:
            return set()
        referenced: set[str] = set()
        with self._engine.connect() as conn:
            for chunk in _chunks(sorted(keys)):
                for table in (instance, quarantine):
                    query = select(table.c.blob_key).where(table.c.blob_key.in_(chunk)).distinct()
                    referenced.update(conn.execute(query).scalars())
        return keys - referenced

    def _write(
        self,
        conn: Connection,
        collection_name: str,
        records: Sequence[InstanceRecord],
        releasing: Mapping[str, int] | None = None,
    ) -> list[WriteResult]:
        now = self._clock()
        headers = [r.header for r in records]
        sops = [h.sop_instance_uid for h in headers]
        existing = self._existing_instances(conn, sops)
        held = self._held_instances(conn, sops)
        # Existing studies and series with their owners, read by joins in the same statement
        # as the row itself: separate lookups could see different commits of a concurrent
        # writer (READ COMMITTED) and invent conflicts. (pk, owner) per UID.
        found_studies = self._study_owners(conn, {h.study_instance_uid for h in headers})
        found_series = self._series_owners(conn, {h.series_instance_uid for h in headers})
        # Looked up, not created: a batch that catalogues nothing (all held, duplicate or
        # conflicting) must not leave an empty collection that lists show. Looked up *after*
        # the rows above: a concurrent writer commits its collection no later than the rows
        # filed in it, so any row seen above has its collection seen here (READ COMMITTED);
        # looking it up first could miss a collection whose rows the next statement sees.
        collection_pk = self._find_collection(conn, collection_name)
        patients = (
            self._patient_pks(conn, collection_pk, sorted({h.patient_id for h in headers}))
            if collection_pk is not None
            else {}
        )
        studies = {uid: pk for uid, (pk, _, _) in found_studies.items()}
        series_known = {uid: pk for uid, (pk, _) in found_series.items()}
        study_owner: dict[str, str | None] = {
            uid: (pid if owner_collection == collection_pk else None)
            for uid, (_, pid, owner_collection) in found_studies.items()
        }
        series_owner: dict[str, str | None] = {uid: owner for uid, (_, owner) in found_series.items()}

        results: list[WriteResult] = []
        accepted: list[InstanceRecord] = []
        holding: list[InstanceRecord] = []
        seen: dict[str, str] = {}
        for record in records:
            header = record.header
            problem = self._classify(record, existing.get(header.sop_instance_uid), seen, collection_pk)
            if problem is None:
                problem = _classify_held(
                    record, held.get(header.sop_instance_uid), collection_name, releasing
                )
            if problem is None:
                if study_owner.get(header.study_instance_uid, header.patient_id) != header.patient_id:
                    problem = (
                        Outcome.CONFLICT,
                        "StudyInstanceUID is already filed under a different patient",
                    )
                elif series_owner.get(header.series_instance_uid, header.study_instance_uid) != (
                    header.study_instance_uid
                ):
                    problem = (Outcome.CONFLICT, "SeriesInstanceUID is already filed under a different study")
            if problem is None and record.quarantine is not None:
                # Held: claims no study or series, only its SOPInstanceUID.
                seen[header.sop_instance_uid] = record.blob.sha256
                holding.append(record)
                results.append(self._result(record, Outcome.QUARANTINED, record.quarantine))
            elif problem is None:
                # Only an accepted instance claims its study and series for this batch.
                study_owner[header.study_instance_uid] = header.patient_id
                series_owner[header.series_instance_uid] = header.study_instance_uid
                seen[header.sop_instance_uid] = record.blob.sha256
                accepted.append(record)
                results.append(self._result(record, Outcome.INGESTED))
            else:
                results.append(self._result(record, *problem))
        if accepted:
            if collection_pk is None:
                collection_pk = self._ensure_collection(conn, collection_name, now)
            self._insert(conn, collection_pk, accepted, patients, studies, series_known, now)
            # Same transaction as the rows: the 100th case and the embargo it starts commit together.
            refresh_embargo(conn, collection_pk)
        if holding:
            conn.execute(insert(quarantine), [_held_row(collection_name, r, now) for r in holding])
        if releasing is not None:
            self._drop_released(conn, records, results, held, releasing)
        return results

    @staticmethod
    def _drop_released(
        conn: Connection,
        records: Sequence[InstanceRecord],
        results: Sequence[WriteResult],
        held: Mapping[str, _Held],
        releasing: Mapping[str, int],
    ) -> None:
        """Delete the held rows of released records; raise :class:`_ReleaseRaced` if one vanished."""
        done: list[int] = []
        for record, result in zip(records, results, strict=True):
            pk = releasing.get(record.header.sop_instance_uid)
            found = held.get(record.header.sop_instance_uid)
            # A duplicate whose row another release already dropped has nothing left to delete.
            if result.outcome in (Outcome.INGESTED, Outcome.DUPLICATE) and found and found.id == pk:
                done.append(found.id)
        for chunk in _chunks(sorted(done)):
            gone = conn.execute(delete(quarantine).where(quarantine.c.id.in_(chunk))).rowcount
            if gone != len(chunk):
                raise _ReleaseRaced(f"{len(chunk) - gone} held rows were released or rejected meanwhile")

    @staticmethod
    def _classify(
        record: InstanceRecord,
        known: tuple[str, int] | None,
        seen: dict[str, str],
        collection_pk: int | None,
    ) -> tuple[Outcome, str] | None:
        """Duplicate/conflict on the SOPInstanceUID alone; ``None`` if it is new."""
        sha = record.blob.sha256
        if known is not None:
            known_sha, known_collection = known
            if known_collection != collection_pk:
                return Outcome.CONFLICT, "SOPInstanceUID is already filed in another collection"
            if known_sha == sha:
                return Outcome.DUPLICATE, "already in the archive"
            return Outcome.CONFLICT, "SOPInstanceUID is already catalogued with different content"
        if record.header.sop_instance_uid in seen:
            if seen[record.header.sop_instance_uid] == sha:
                return Outcome.DUPLICATE, "same instance earlier in this batch"
            return Outcome.CONFLICT, "SOPInstanceUID repeated in this batch with different content"
        return None

    def _insert(
        self,
        conn: Connection,
        collection_pk: int,
        accepted: Sequence[InstanceRecord],
        patients: dict[str, int],
        studies: dict[str, int],
        series_known: dict[str, int],
        now: dt.datetime,
    ) -> None:
        new_patients: dict[str, InstanceHeader] = {}
        new_studies: dict[str, InstanceHeader] = {}
        new_series: dict[str, InstanceHeader] = {}
        for record in accepted:
            h = record.header
            if h.patient_id not in patients:
                new_patients.setdefault(h.patient_id, h)
            if h.study_instance_uid not in studies:
                new_studies.setdefault(h.study_instance_uid, h)
            if h.series_instance_uid not in series_known:
                new_series.setdefault(h.series_instance_uid, h)
        if new_patients:
            conn.execute(
                insert(patient), [_patient_row(collection_pk, h, now) for h in new_patients.values()]
            )
            patients.update(self._patient_pks(conn, collection_pk, list(new_patients)))
        if new_studies:
            conn.execute(
                insert(study), [_study_row(patients[h.patient_id], h, now) for h in new_studies.values()]
            )
            studies.update({uid: pk for uid, (pk, _, _) in self._study_owners(conn, new_studies).items()})
        if new_series:
            rows = [_series_row(studies[h.study_instance_uid], h, now) for h in new_series.values()]
            conn.execute(insert(series), rows)
            series_known.update({uid: pk for uid, (pk, _) in self._series_owners(conn, new_series).items()})

        totals: dict[int, list[int]] = {}
        rows = []
        for record in accepted:
            series_pk = series_known[record.header.series_instance_uid]
            rows.append(_instance_row(series_pk, record, now))
            total = totals.setdefault(series_pk, [0, 0])
            total[0] += 1
            total[1] += record.blob.size
        conn.execute(insert(instance), rows)
        # A remote series keeps the index's counts until it is made local (ria.catalog.remote), which
        # recounts its rows. The update still runs (and locks the row) so that recount waits for it.
        remote = series.c.is_remote.is_(True)
        conn.execute(
            update(series)
            .where(series.c.id == bindparam("pk"))
            .values(
                image_count=case((remote, series.c.image_count), else_=series.c.image_count + bindparam("n")),
                file_size=case((remote, series.c.file_size), else_=series.c.file_size + bindparam("bytes")),
                updated_at=now,
            ),
            [{"pk": pk, "n": n, "bytes": size} for pk, (n, size) in totals.items()],
        )

    def require_deidentification(self, name: str, profile: str | None) -> None:
        """Make every ingest into ``name`` apply ``profile`` (a profile spec), or stop requiring one.

        The collection is created if needed, so the rule holds before its first instance.
        """
        with self._engine.begin() as conn:
            pk = self._ensure_collection(conn, name, self._clock())
            conn.execute(update(collection).where(collection.c.id == pk).values(deid_profile=profile))

    def describe_collection(
        self,
        name: str,
        *,
        description: str | None = None,
        doi: str | None = None,
        license_name: str | None = None,
        license_uri: str | None = None,
    ) -> None:
        """Set a collection's descriptive fields (given ones only), creating the collection if needed.

        These feed TCIA's getSeries licence/DOI fields, getCollectionDescriptions
        and citations.
        """
        given = {
            "description": description,
            "doi": doi,
            "license_name": license_name,
            "license_uri": license_uri,
        }
        values = {key: value for key, value in given.items() if value is not None}
        with self._engine.begin() as conn:
            pk = self._ensure_collection(conn, name, self._clock())
            if values:
                conn.execute(update(collection).where(collection.c.id == pk).values(**values))

    @staticmethod
    def _result(record: InstanceRecord, outcome: Outcome, reason: str | None = None) -> WriteResult:
        return WriteResult(
            source=record.source,
            outcome=outcome,
            reason=reason,
            sop_instance_uid=record.header.sop_instance_uid,
            series_instance_uid=record.header.series_instance_uid,
            blob_key=record.blob.key,
        )

    @staticmethod
    def _find_collection(conn: Connection, name: str) -> int | None:
        pk = conn.execute(select(collection.c.id).where(collection.c.name == name)).scalar()
        return None if pk is None else int(pk)

    @staticmethod
    def _held_instances(conn: Connection, sops: Sequence[str]) -> dict[str, _Held]:
        found: dict[str, _Held] = {}
        for chunk in _chunks(sorted(set(sops))):
            query = select(
                quarantine.c.sop_instance_uid,
                quarantine.c.id,
                quarantine.c.collection_name,
                quarantine.c.sha256,
            ).where(quarantine.c.sop_instance_uid.in_(chunk))
            found.update({sop: _Held(pk, name, sha) for sop, pk, name, sha in conn.execute(query)})
        return found

    @staticmethod
    def _ensure_collection(conn: Connection, name: str, now: dt.datetime) -> int:
        pk = conn.execute(select(collection.c.id).where(collection.c.name == name)).scalar()
        if pk is None:
            pk = conn.execute(
                insert(collection).values(name=name, created_at=now).returning(collection.c.id)
            ).scalar_one()
        return int(pk)

    @staticmethod
    def _existing_instances(conn: Connection, sops: Sequence[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        for chunk in _chunks(sorted(set(sops))):
            query = (
                select(instance.c.sop_instance_uid, instance.c.sha256, patient.c.collection_id)
                .join(series, series.c.id == instance.c.series_pk)
                .join(study, study.c.id == series.c.study_pk)
                .join(patient, patient.c.id == study.c.patient_pk)
                .where(instance.c.sop_instance_uid.in_(chunk))
            )
            for sop, sha, collection_pk in conn.execute(query):
                found[sop] = (sha, collection_pk)
        return found

    @staticmethod
    def _patient_pks(conn: Connection, collection_pk: int, patient_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(patient_ids):
            query = select(patient.c.patient_id, patient.c.id).where(
                and_(patient.c.collection_id == collection_pk, patient.c.patient_id.in_(chunk))
            )
            found.update({pid: pk for pid, pk in conn.execute(query)})
        return found

    @staticmethod
    def _study_owners(conn: Connection, uids: Iterable[str]) -> dict[str, tuple[int, str, int]]:
        """Study UID → (study pk, PatientID, collection pk) for the studies that exist."""
        found: dict[str, tuple[int, str, int]] = {}
        for chunk in _chunks(sorted(uids)):
            query = (
                select(study.c.study_instance_uid, study.c.id, patient.c.patient_id, patient.c.collection_id)
                .join(patient, patient.c.id == study.c.patient_pk)
                .where(study.c.study_instance_uid.in_(chunk))
            )
            found.update({uid: (pk, pid, coll) for uid, pk, pid, coll in conn.execute(query)})
        return found

    @staticmethod
    def _series_owners(conn: Connection, uids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """Series UID → (series pk, StudyInstanceUID of its study) for the series that exist."""
        found: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(sorted(uids)):
            query = (
                select(series.c.series_instance_uid, series.c.id, study.c.study_instance_uid)
                .join(study, study.c.id == series.c.study_pk)
                .where(series.c.series_instance_uid.in_(chunk))
            )
            found.update({uid: (pk, study_uid) for uid, pk, study_uid in conn.execute(query)})
        return found


def _classify_held(
    record: InstanceRecord,
    found: _Held | None,
    collection_name: str,
    releasing: Mapping[str, int] | None,
) -> tuple[Outcome, str] | None:
    """Duplicate/conflict against the quarantine; for a release, whether its held row is still there."""
    if releasing is not None:
        if found is None or found.id != releasing.get(record.header.sop_instance_uid):
            return Outcome.REJECTED, "no longer held in quarantine (rejected meanwhile)"
        return None
    if found is None:
        return None
    if found.collection_name != collection_name:
        return Outcome.CONFLICT, "SOPInstanceUID is already held in quarantine for another collection"
    if found.sha256 == record.blob.sha256:
        return Outcome.DUPLICATE, "already held in quarantine, awaiting review (ria review list)"
    return Outcome.CONFLICT, "SOPInstanceUID is already held in quarantine with different content"


def _held_row(collection_name: str, record: InstanceRecord, now: dt.datetime) -> dict[str, Any]:
    h = record.header
    return {
        "collection_name": collection_name,
        "sop_instance_uid": h.sop_instance_uid,
        "series_instance_uid": h.series_instance_uid,
        "study_instance_uid": h.study_instance_uid,
        "patient_id": h.patient_id,
        "size": record.blob.size,
        "sha256": record.blob.sha256,
        "md5": record.md5,
        "crc32": record.crc32,
        "blob_key": record.blob.key,
        "reason": (record.quarantine or "held for review")[:1024],
        "created_at": now,
    }


def _patient_row(collection_pk: int, h: InstanceHeader, now: dt.datetime) -> dict[str, Any]:
    return {
        "collection_id": collection_pk,
        "patient_id": h.patient_id,
        "site_code": site_code_of(h.patient_id),
        "patient_name": h.patient_name,
        "patient_sex": h.patient_sex,
        "patient_birth_date": h.patient_birth_date,
        "ethnic_group": h.ethnic_group,
        "created_at": now,
    }


def _study_row(patient_pk: int, h: InstanceHeader, now: dt.datetime) -> dict[str, Any]:
    return {
        "patient_pk": patient_pk,
        "study_instance_uid": h.study_instance_uid,
        "study_date": h.study_date,
        "study_description": h.study_description,
        "study_id": h.study_id,
        "accession_number": h.accession_number,
        "admitting_diagnoses_description": h.admitting_diagnoses_description,
        "patient_age": h.patient_age,
        "created_at": now,
    }


def _series_row(study_pk: int, h: InstanceHeader, now: dt.datetime) -> dict[str, Any]:
    return {
        "study_pk": study_pk,
        "series_instance_uid": h.series_instance_uid,
        "modality": h.modality,
        "protocol_name": h.protocol_name,
        "series_date": h.series_date,
        "series_description": h.series_description,
        "body_part_examined": h.body_part_examined,
        "series_number": h.series_number,
        "manufacturer": h.manufacturer,
        "manufacturer_model_name": h.manufacturer_model_name,
        "software_versions": h.software_versions,
        "ingested_at": now,
        "updated_at": now,
        "released_at": now,
    }


def _instance_row(series_pk: int, record: InstanceRecord, now: dt.datetime) -> dict[str, Any]:
    h = record.header
    return {
        "series_pk": series_pk,
        "sop_instance_uid": h.sop_instance_uid,
        "sop_class_uid": h.sop_class_uid,
        "transfer_syntax_uid": h.transfer_syntax_uid,
        "instance_number": h.instance_number,
        "acquisition_number": h.acquisition_number,
        "size": record.blob.size,
        "sha256": record.blob.sha256,
        "md5": record.md5,
        "crc32": record.crc32,
        "blob_key": record.blob.key,
        "ingested_at": now,
    }
