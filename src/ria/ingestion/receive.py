"""Instances that arrive over the network (STOW-RS, C-STORE) take the same path as files.

A request's instances are spooled, one file each, into a private folder under the
data directory as they stream in (bounded memory whatever their size), then
ingested exactly like a folder given to ``ria ingest``: the same checks,
de-identification where the collection requires it, idempotence and crash safety.
The spool folder is removed afterwards; after a crash, :meth:`Spool.sweep` clears
what a dead request left (nothing in it is catalogued yet).

Each instance gets a :class:`Received` answer in request order, which the
network front ends turn into their own status codes.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Self

import pydicom

from ria.catalog.records import Outcome, WriteResult
from ria.errors import InvalidParameterError

if TYPE_CHECKING:
    from ria.archive import Archive
    from ria.deid.engine import Deidentifier

__all__ = ["Received", "Spool", "network_deidentifier", "offered_uids", "receive"]

log = logging.getLogger(__name__)

_SPOOL_DIR = "incoming"
_COPY_CHUNK = 1 << 20
_POOL_THRESHOLD = 256
_KEPT = ("inbox-", "refused")


@dataclass(frozen=True, slots=True)
class Received:
    """What became of one instance of a request.

    ``sop_*`` and ``study_instance_uid`` name the instance as stored (after
    de-identification, the new UIDs) when it was stored; as offered, when it was not
    and its header could be read; ``None`` for bytes that are not DICOM at all.
    """

    index: int
    outcome: Outcome
    reason: str | None
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None

    @property
    def stored(self) -> bool:
        """Catalogued and served (now or, for a duplicate, already)."""
        return self.outcome in (Outcome.INGESTED, Outcome.DUPLICATE)


class Spool:
    """One request's instances on disk until they are ingested; removed on exit."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / _SPOOL_DIR / uuid.uuid4().hex
        self.folder.mkdir(parents=True)
        self._count = 0
        self._discarded: set[int] = set()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __len__(self) -> int:
        return self._count

    def path(self, index: int) -> Path:
        # Zero-padded so the folder walk (sorted names) keeps request order.
        return self.folder / f"{index:08d}.dcm"

    def add_stream(self, source: BinaryIO) -> int:
        """Copy one instance from a readable stream; returns its index in the request."""
        index = self._count
        with open(self.path(index), "wb") as out:
            shutil.copyfileobj(source, out, _COPY_CHUNK)
        self._count += 1
        return index

    def add_chunks(self, chunks: Iterable[bytes]) -> int:
        """Write one instance from chunks as they arrive; returns its index in the request."""
        index = self._count
        with open(self.path(index), "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        self._count += 1
        return index

    def open_writer(self) -> tuple[int, BinaryIO]:
        """A file to write the next instance into (for push parsers); close it when done."""
        index = self._count
        self._count += 1
        return index, open(self.path(index), "wb")

    def discard(self, index: int) -> None:
        """Drop an instance the front end refused itself (e.g. a truncated part): it is not ingested."""
        self.path(index).unlink(missing_ok=True)
        self._discarded.add(index)

    @property
    def kept(self) -> list[int]:
        """Indices of the instances to ingest, in request order."""
        return [index for index in range(self._count) if index not in self._discarded]

    @staticmethod
    def sweep(data_dir: Path, *, older_than: float = 0.0) -> int:
        """Remove spool folders left by requests that died; returns how many were removed.

        Folders touched within ``older_than`` seconds are spared: a live request may
        be writing them (``ria gc`` passes its grace period). C-STORE inboxes and refused
        instances hold acknowledged data: :class:`~ria.ingestion.inbox.Inbox` recovers them.
        """
        root = data_dir / _SPOOL_DIR
        if not root.is_dir():
            return 0
        removed = 0
        now = time.time()
        for entry in os.scandir(root):
            if entry.name.startswith(_KEPT):  # acknowledged C-STORE instances (ingestion.inbox): never swept
                continue
            if entry.is_dir() and now - entry.stat().st_mtime >= older_than:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        return removed


def network_deidentifier(archive: Archive, collection: str) -> Deidentifier | None:
    """The de-identifier a network upload into ``collection`` must go through, if any.

    A collection that requires de-identification needs its ID map stored with the
    archive (``ria collections set NAME --id-map FILE``): a network sender cannot
    hand one over, and without it nothing may enter.
    """
    profile = archive.required_profile(collection)
    if profile is None:
        return None
    from ria.deid.profiles import Profile

    id_map = archive.stored_id_map(collection)
    if id_map is None:
        raise InvalidParameterError(
            "collection",
            f"collection {collection!r} requires de-identification but has no stored ID map; "
            f"set one with: ria collections set {collection} --id-map FILE",
        )
    return archive.deidentifier(Profile.parse(profile), id_map, archive.stored_pixel_rules(collection))


def receive(archive: Archive, spool: Spool, collection: str, *, write_report: bool = True) -> list[Received]:
    """Ingest everything in ``spool`` into ``collection``; one answer per instance, in order.

    ``write_report=False`` skips the per-ingest JSONL report, for front ends that
    ingest one instance at a time and log each association instead (C-STORE).
    """
    if not spool.kept:
        return []
    transform = network_deidentifier(archive, collection)
    results: dict[str, WriteResult] = {}
    # Starting worker processes costs more than parsing a few hundred files, and a server already runs
    # requests side by side: small requests are ingested in the calling thread.
    workers = archive.settings.workers if len(spool.kept) >= _POOL_THRESHOLD else 1
    archive.ingest(
        [spool.folder],
        collection,
        workers=workers,
        progress=lambda result: results.__setitem__(result.source, result),
        deidentify=transform,
        write_report=write_report,
    )
    catalogued = archive.catalog.instances_with_study(
        result.sop_instance_uid
        for result in results.values()
        if result.outcome in (Outcome.INGESTED, Outcome.DUPLICATE) and result.sop_instance_uid
    )
    answers = []
    for index in spool.kept:
        path = spool.path(index)
        result = results.get(str(path))
        if result is None:  # not offered by the walk: cannot happen unless the spool was tampered with
            answers.append(Received(index, Outcome.REJECTED, "the instance was lost before ingest"))
            continue
        answers.append(_answer(catalogued, index, path, result))
    return answers


def _answer(
    catalogued: dict[str, tuple[str, str, str]], index: int, path: Path, result: WriteResult
) -> Received:
    if result.outcome in (Outcome.INGESTED, Outcome.DUPLICATE) and result.sop_instance_uid:
        row = catalogued.get(result.sop_instance_uid)
        if row is not None:
            sop_class, study_uid, series_uid = row
            return Received(
                index,
                result.outcome,
                result.reason,
                sop_class,
                result.sop_instance_uid,
                study_uid,
                series_uid,
            )
    offered = offered_uids(path)
    if result.outcome is Outcome.QUARANTINED and result.sop_instance_uid:
        # Held for a curator: name it as stored (the sender may need the new UID to ask about it).
        offered = (offered[0], result.sop_instance_uid, None, result.series_instance_uid)
    return Received(index, result.outcome, result.reason, *offered)


def offered_uids(path: Path) -> tuple[str | None, str | None, str | None, str | None]:
    """(SOPClassUID, SOPInstanceUID, StudyInstanceUID, SeriesInstanceUID) as offered, read leniently from
    a spooled file before or after ingest (``None`` where unreadable)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # anything at all: the bytes were refused already, this is only for the answer
        return None, None, None, None

    def uid(keyword: str) -> str | None:
        value = ds.get(keyword)
        text = str(value).strip() if value is not None else ""
        return text[:64] or None

    return uid("SOPClassUID"), uid("SOPInstanceUID"), uid("StudyInstanceUID"), uid("SeriesInstanceUID")
