"""Instances acknowledged to a network sender, on disk until a batch has ingested them (C-STORE).

A DICOM sender waits for each C-STORE's status before it sends the next instance, so
"commit, then answer" would mean one catalogue transaction per instance. Instead each
received instance is written to this inbox — a file of its own, fsync'ed first when the
archive is durable (``Settings.fsync``) — and only then answered Success. Every
``batch_size`` instances, at the association's release and at its abort, the inbox's
files go through the ordinary ingest
(:meth:`ria.archive.Archive.ingest`, one catalogue transaction per batch) and are removed
once their rows are committed.

Crash model: a process killed at any moment leaves files that were acknowledged but not
yet catalogued. :meth:`Inbox.recover` (run when a DICOM node starts) ingests them; a
crash after a batch committed but before its files were removed makes them duplicates,
which ingest already treats as success. A live inbox holds an ``flock`` on its lock
file, so recovery (or ``ria gc``) in another process never takes an association's files
from under it.

An instance refused only when its batch is written (say, a study UID already filed under
another patient) was acknowledged: its file is kept under ``incoming/refused/`` for the
operator, never deleted, and the log says how many and why.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import bindparam, select

from ria.catalog.records import Outcome, WriteResult
from ria.catalog.schema import collection, instance, patient, series, study
from ria.dicom.header import InstanceHeader

if TYPE_CHECKING:
    from ria.archive import Archive

__all__ = ["INBOX_PREFIX", "Inbox"]

log = logging.getLogger(__name__)

INBOX_PREFIX = "inbox-"
_INCOMING = "incoming"
_REFUSED = "refused"
_COLLECTION_FILE = "collection"
_LOCK_FILE = "lock"
_ACCEPTED = (Outcome.INGESTED, Outcome.DUPLICATE, Outcome.QUARANTINED)


# Built once: constructing the statement cost as much as running it, once per instance.
_STORED_AS = (
    select(instance.c.sha256, collection.c.name)
    .join(series, series.c.id == instance.c.series_pk)
    .join(study, study.c.id == series.c.study_pk)
    .join(patient, patient.c.id == study.c.patient_pk)
    .join(collection, collection.c.id == patient.c.collection_id)
    .where(instance.c.sop_instance_uid == bindparam("sop"))
)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(folder: Path, *, wait: bool) -> BinaryIO | None:
    """This process's exclusive hold on ``folder`` (``None`` if another process holds it)."""
    handle = open(folder / _LOCK_FILE, "ab")  # noqa: SIM115 - held for the inbox's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        handle.close()
        return None
    return handle


class Inbox:
    """One association's acknowledged instances, for one collection."""

    def __init__(self, archive: Archive, collection: str, *, batch_size: int = 200) -> None:
        self.archive = archive
        self.collection = collection
        self.batch_size = batch_size
        self._durable = archive.settings.fsync
        self.folder = archive.settings.data_dir / _INCOMING / f"{INBOX_PREFIX}{uuid.uuid4().hex}"
        self.folder.mkdir(parents=True)
        self._lock_handle = _lock(self.folder, wait=True)
        marker = self.folder / _COLLECTION_FILE
        with open(marker, "w", encoding="utf-8") as out:
            out.write(collection)
            if self._durable:
                out.flush()
                os.fdatasync(out.fileno())
        if self._durable:
            _fsync_folder(self.folder)
            _fsync_folder(self.folder.parent)
        self._count = 0
        self._pending: list[Path] = []
        self._headers: dict[str, InstanceHeader] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ria-inbox")
        self._in_flight: Future[None] | None = None

    def __len__(self) -> int:
        """Instances acknowledged and not yet ingested."""
        return len(self._pending)

    def stage(self, data: bytes) -> Path:
        """Write one received Part 10 file (durably, if the archive is), not yet acknowledged.

        The caller checks it (its header is read from the file, pixel data skipped), then
        :meth:`keep` s or :meth:`discard` s it. The file gets its final name at once and one
        ``fsync``: on Linux's journaling file systems that also makes a new file's directory
        entry durable, which a rename would cost a second flush for (half the time per
        instance). A file written but not acknowledged when the process dies is ingested by
        recovery like any other: the same checks decide, and truncation is one of them.
        """
        path = self.folder / f"{self._count:08d}.dcm"
        self._count += 1
        with open(path, "wb") as out:
            out.write(data)
            if self._durable:
                out.flush()
                os.fsync(out.fileno())
        return path

    def keep(self, path: Path, header: InstanceHeader | None = None) -> None:
        """Count a staged file in; once this returns, the instance may be acknowledged.

        A full batch goes to the inbox's ingest thread, so the sender is not kept waiting
        while it is written; at most one batch is in flight (the next full one waits for it).
        """
        self._pending.append(path)
        if header is not None:  # read from this very file by the caller: ingest need not parse it again
            self._headers[str(path)] = header
        if len(self._pending) >= self.batch_size:
            self._submit()

    @staticmethod
    def discard(path: Path) -> None:
        path.unlink(missing_ok=True)

    def stored_as(self, sop_instance_uid: str) -> tuple[str, str] | None:
        """(SHA-256, collection) of the file catalogued under ``sop_instance_uid``, if any.

        The C-STORE hot path asks this once per instance: one indexed lookup, without the
        visibility rule of :meth:`~ria.catalog.queries.Catalog.instance` (a third of the
        per-instance time when that was used here).
        """
        with self.archive.engine.connect() as conn:
            found = conn.execute(_STORED_AS, {"sop": sop_instance_uid}).first()
        return None if found is None else (str(found[0]), str(found[1]))

    def _submit(self) -> None:
        paths, self._pending = self._pending, []
        headers = {str(path): self._headers.pop(str(path)) for path in paths if str(path) in self._headers}
        if self._in_flight is not None:
            self._in_flight.result()
        self._in_flight = self._thread.submit(self._ingest, paths, headers)

    def _ingest(self, paths: list[Path], headers: dict[str, InstanceHeader]) -> None:
        try:
            ingest_files(self.archive, self.collection, paths, self.folder.name, headers)
        except Exception as exc:  # the files are safe on disk: recovery ingests them
            log.error(
                "inbox %s: batch ingest failed (%s); kept for recovery", self.folder.name, type(exc).__name__
            )

    def flush(self) -> None:
        """Ingest everything acknowledged so far and wait until it is committed (or failed, logged)."""
        if self._pending:
            self._submit()
        if self._in_flight is not None:
            self._in_flight.result()
            self._in_flight = None

    def close(self) -> None:
        """Flush, then give the folder up; files a failed batch left stay for :meth:`recover`."""
        try:
            self.flush()
        finally:
            self._thread.shutdown(wait=True)
            if self._lock_handle is not None:
                self._lock_handle.close()
                self._lock_handle = None
            if not any(self.folder.glob("*.dcm")):
                shutil.rmtree(self.folder, ignore_errors=True)

    @staticmethod
    def recover(archive: Archive) -> int:
        """Ingest what dead associations acknowledged; returns how many files were ingested."""
        root = archive.settings.data_dir / _INCOMING
        if not root.is_dir():
            return 0
        recovered = 0
        for folder in sorted(root.glob(f"{INBOX_PREFIX}*")):
            handle = _lock(folder, wait=False) if folder.is_dir() else None
            if handle is None:  # a live association's, or not an inbox
                continue
            try:
                recovered += _recover_one(archive, folder)
            finally:
                handle.close()
        return recovered


def _recover_one(archive: Archive, folder: Path) -> int:
    files = sorted(folder.glob("*.dcm"))
    marker = folder / _COLLECTION_FILE
    if files and marker.is_file():
        collection = marker.read_text(encoding="utf-8")
        outcomes = ingest_files(archive, collection, files, folder.name)
        log.warning(
            "recovered %d acknowledged instances of a dead association into %r (%s)",
            len(files),
            collection,
            ", ".join(f"{count} {outcome.value}" for outcome, count in sorted(outcomes.items())),
        )
    if not any(folder.glob("*.dcm")):
        shutil.rmtree(folder, ignore_errors=True)
    return len(files)


def ingest_files(
    archive: Archive,
    collection: str,
    files: list[Path],
    inbox: str,
    headers: Mapping[str, InstanceHeader] | None = None,
) -> Counter[Outcome]:
    """One batch through :meth:`Archive.ingest`; files are removed once catalogued (or kept if refused)."""
    results: dict[str, WriteResult] = {}
    archive.ingest(
        files,
        collection,
        workers=1,
        progress=lambda result: results.__setitem__(result.source, result),
        write_report=False,
        headers=headers,
    )
    outcomes: Counter[Outcome] = Counter()
    refused: Counter[str] = Counter()
    for path in files:
        result = results.get(str(path))
        outcome = result.outcome if result is not None else Outcome.REJECTED
        outcomes[outcome] += 1
        if outcome in _ACCEPTED:
            path.unlink(missing_ok=True)
            continue
        refused[outcome.value] += 1
        keep = archive.settings.data_dir / _INCOMING / _REFUSED / inbox
        keep.mkdir(parents=True, exist_ok=True)
        os.replace(path, keep / path.name)
    if refused:
        log.error(
            "%d acknowledged instances into %r were refused when their batch was written (%s); "
            "their files are kept in %s",
            sum(refused.values()),
            collection,
            ", ".join(f"{count} {outcome}" for outcome, count in sorted(refused.items())),
            archive.settings.data_dir / _INCOMING / _REFUSED / inbox,
        )
    return outcomes
