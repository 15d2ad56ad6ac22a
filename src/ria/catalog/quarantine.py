"""The curator's side of the quarantine: list held instances, release them, or reject them.

Why a quarantine: pixels can carry identifying text burned into the image
(ultrasound, secondary captures, screenshots), which no header de-identification
removes. TCIA's curators inspect such images by hand; Ria does the same. Ingest
holds instances that declare ``BurnedInAnnotation=YES``, or whose modality or
SOP class is prone to it without declaring it absent, in the ``quarantine``
table (see :mod:`ria.catalog.writer`): their bytes are stored, but nothing that
serves the archive reads that table, so they are in no query, count, value
list, download or error message.

A curator then decides, per instance:

* :meth:`Quarantine.release` moves it into the catalogue through the same
  :class:`~ria.catalog.writer.CatalogWriter` path as ingest (header re-read
  from the stored bytes, the same duplicate/conflict rules), deleting the held
  row in the same transaction;
* :meth:`Quarantine.reject` deletes the held row; the blob is then unreferenced
  and ``ria gc`` reclaims it once its grace period is over.

Plain functions of an engine and a blob store, so a notebook, the CLI
(``ria review``) and any later HTTP route make the same decisions.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from sqlalchemy import Engine, Row, delete, select

from ria.catalog.records import InstanceRecord, Outcome
from ria.catalog.schema import quarantine
from ria.catalog.writer import CatalogWriter
from ria.dicom.header import read_instance_header
from ria.dicom.streams import PlainStream
from ria.errors import InvalidParameterError, RiaError
from ria.storage.base import BlobInfo, BlobStore

__all__ = ["HeldInstance", "Quarantine", "ReleaseResult"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class HeldInstance:
    """One instance waiting for a curator. No patient data: what a review list may show."""

    id: int
    collection: str
    series_instance_uid: str
    sop_instance_uid: str
    size: int
    reason: str
    held_since: dt.datetime

    def to_json(self) -> dict[str, object]:
        """The shape ``ria review list --json`` prints."""
        return {
            "id": self.id,
            "collection": self.collection,
            "series_instance_uid": self.series_instance_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "size": self.size,
            "reason": self.reason,
            "held_since": self.held_since.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """What releasing one held instance did.

    ``ingested`` (now catalogued) and ``duplicate`` (the same bytes were already
    catalogued) both release it: its held row is gone. ``conflict`` and
    ``rejected`` keep it held, with the reason.
    """

    id: int
    outcome: Outcome
    sop_instance_uid: str | None = None
    reason: str | None = None

    @property
    def released(self) -> bool:
        return self.outcome in (Outcome.INGESTED, Outcome.DUPLICATE)

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "id": self.id,
            "released": self.released,
            "outcome": self.outcome.value,
            "sop_instance_uid": self.sop_instance_uid,
        }
        if self.reason:
            body["reason"] = self.reason
        return body


def _held(row: Row[Any]) -> HeldInstance:
    return HeldInstance(
        id=row.id,
        collection=row.collection_name,
        series_instance_uid=row.series_instance_uid,
        sop_instance_uid=row.sop_instance_uid,
        size=row.size,
        reason=row.reason,
        held_since=row.created_at,
    )


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class Quarantine:
    """Instances held for review in one archive (``archive.quarantine``).

    Example::

        held = archive.quarantine.list(collection="TCGA-LUAD")
        archive.quarantine.release([h.id for h in held if h.reason.startswith("modality US")])
        archive.quarantine.reject([7])
    """

    def __init__(self, engine: Engine, store: BlobStore, writer: Callable[[], CatalogWriter]) -> None:
        self._engine = engine
        self._store = store
        self._writer = writer

    def ids(self, collection: str | None = None) -> builtins.list[int]:
        """IDs of every held instance (of ``collection``), oldest first."""
        query = select(quarantine.c.id).order_by(quarantine.c.id)
        if collection is not None:
            query = query.where(quarantine.c.collection_name == collection)
        with self._engine.connect() as conn:
            return [int(pk) for pk in conn.execute(query).scalars()]

    def release(self, ids: Iterable[int]) -> builtins.list[ReleaseResult]:
        """Move held instances into the catalogue; one result per distinct ID, in ID order.

        Every ID is checked before anything changes: an unknown one raises
        :class:`~ria.errors.InvalidParameterError` naming it. Each instance's
        header is re-read from its stored bytes and written by the ingest writer
        (same duplicate/conflict rules); its held row goes in the same
        transaction. Releasing an instance another process released meanwhile is
        a ``duplicate``, not an error.
        """
        wanted = self._existing(ids)
        results: dict[int, ReleaseResult] = {}
        writer = self._writer()
        for chunk in _chunks(wanted):
            with self._engine.connect() as conn:
                rows = conn.execute(select(quarantine).where(quarantine.c.id.in_(chunk))).all()
            batches: dict[str, builtins.list[tuple[int, InstanceRecord]]] = {}
            for row in rows:
                record = self._record(row)
                if isinstance(record, ReleaseResult):
                    results[row.id] = record
                else:
                    batches.setdefault(row.collection_name, []).append((row.id, record))
            for collection_name, items in sorted(batches.items()):
                releasing = {record.header.sop_instance_uid: pk for pk, record in items}
                written = writer.write_batch(collection_name, [r for _, r in items], releasing=releasing)
                for (pk, _), result in zip(items, written, strict=True):
                    results[pk] = ReleaseResult(pk, result.outcome, result.sop_instance_uid, result.reason)
            for pk in chunk:
                # Rejected (or released) by another process between the check and now.
                results.setdefault(
                    pk, ReleaseResult(pk, Outcome.REJECTED, None, "no longer held in quarantine")
                )
        return [results[pk] for pk in wanted]

    def reject(self, ids: Iterable[int]) -> builtins.list[HeldInstance]:
        """Drop held instances for good; return what was dropped.

        Unknown IDs raise before anything changes. The blobs stay until ``ria gc``
        finds them unreferenced (after its grace period), as for any removed row.
        """
        wanted = self._existing(ids)
        dropped: builtins.list[HeldInstance] = []
        with self._engine.begin() as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(select(quarantine).where(quarantine.c.id.in_(chunk))).all()
                gone = set(
                    conn.execute(
                        delete(quarantine).where(quarantine.c.id.in_(chunk)).returning(quarantine.c.id)
                    ).scalars()
                )
                dropped.extend(_held(row) for row in rows if row.id in gone)
        return sorted(dropped, key=lambda held: held.id)

    def _existing(self, ids: Iterable[int]) -> builtins.list[int]:
        """The distinct ``ids``, ascending, after checking that every one is held."""
        wanted = sorted(set(ids))
        found: set[int] = set()
        with self._engine.connect() as conn:
            for chunk in _chunks(wanted):
                query = select(quarantine.c.id).where(quarantine.c.id.in_(chunk))
                found.update(conn.execute(query).scalars())
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            label = "ID" if len(missing) == 1 else "IDs"
            shown = ", ".join(str(pk) for pk in missing[:10]) + (", …" if len(missing) > 10 else "")
            raise InvalidParameterError(
                "id",
                f"no instance is held in quarantine under {label} {shown} (ria review list shows them)",
                ids=missing,
            )
        return wanted

    def _record(self, row: Row[Any]) -> InstanceRecord | ReleaseResult:
        """The catalogue record for a held row, read back from its stored bytes (or why not)."""
        try:
            with self._store.open(row.blob_key) as handle:
                header = read_instance_header(cast(BinaryIO, PlainStream(handle)))
        except (RiaError, OSError) as exc:
            reason = f"its stored object cannot be read: {getattr(exc, 'message', None) or exc}"
            return ReleaseResult(row.id, Outcome.REJECTED, row.sop_instance_uid, reason)
        if header.sop_instance_uid != row.sop_instance_uid:
            reason = "its stored object is another instance than the one held"
            return ReleaseResult(row.id, Outcome.REJECTED, row.sop_instance_uid, reason)
        return InstanceRecord(
            source=f"quarantine:{row.id}",
            header=header,
            blob=BlobInfo(key=row.blob_key, size=row.size, sha256=row.sha256),
            md5=row.md5,
            crc32=row.crc32,
        )

    def list(self, collection: str | None = None) -> builtins.list[HeldInstance]:
        """Every held instance (of ``collection``), oldest first."""
        query = select(quarantine).order_by(quarantine.c.id)
        if collection is not None:
            query = query.where(quarantine.c.collection_name == collection)
        with self._engine.connect() as conn:
            return [_held(row) for row in conn.execute(query)]
