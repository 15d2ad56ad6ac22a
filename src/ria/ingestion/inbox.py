"""Instances acknowledged to a network sender, on disk until a batch has ingested them (C-STORE).

A DICOM sender waits for each C-STORE's status before it sends the next instance, so
"commit, then answer" would mean one catalogue transaction per instance. Instead each
received instance is written to this inbox — a file of its own, made durable first when
the archive is (``Settings.fsync``: written, fdatasync'ed, renamed into place, folder
fsync'ed) — and only then answered Success. Every ``batch_size`` instances, at the
association's release and at its abort, the inbox's files go through the ordinary ingest
(:meth:`ria.archive.Archive.ingest`, one catalogue transaction per batch) and are removed
once their rows are committed.

Crash model: a process killed at any moment leaves files that were acknowledged but not
yet catalogued. :meth:`Inbox.recover` (run when a DICOM node starts) ingests them; a
crash after a batch committed but before its files were removed makes them duplicates,
which ingest already treats as success. ``.part`` files were never acknowledged and are
dropped. A live inbox holds an ``flock`` on its lock file, so recovery (or ``ria gc``)
in another process never takes an association's files from under it.

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
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ria.catalog.records import Outcome, WriteResult

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

    def __len__(self) -> int:
        """Instances acknowledged and not yet ingested."""
        return len(self._pending)

    def add(self, data: bytes) -> None:
        """Keep one received Part 10 file; once this returns, the instance may be acknowledged."""
        path = self.folder / f"{self._count:08d}.dcm"
        part = path.with_suffix(".part")
        with open(part, "wb") as out:
            out.write(data)
            if self._durable:
                out.flush()
                os.fdatasync(out.fileno())
        os.replace(part, path)
        if self._durable:
            _fsync_folder(self.folder)
        self._count += 1
        self._pending.append(path)

    @property
    def full(self) -> bool:
        return len(self._pending) >= self.batch_size

    def flush(self) -> Counter[Outcome]:
        """Ingest the pending files in one batch; on an error they stay for the next flush or recovery."""
        if not self._pending:
            return Counter()
        outcomes = ingest_files(self.archive, self.collection, self._pending, self.folder.name)
        self._pending = []
        return outcomes

    def close(self) -> None:
        """Flush, then give the folder up; files a failed flush left stay for :meth:`recover`."""
        try:
            self.flush()
        except Exception as exc:  # the files are safe on disk: recovery ingests them
            log.error(
                "inbox %s: batch ingest failed (%s); kept for recovery", self.folder.name, type(exc).__name__
            )
        finally:
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
    for part in folder.glob("*.part"):  # never acknowledged
        part.unlink(missing_ok=True)
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


def ingest_files(archive: Archive, collection: str, files: list[Path], inbox: str) -> Counter[Outcome]:
    """One batch through :meth:`Archive.ingest`; files are removed once catalogued (or kept if refused)."""
    results: dict[str, WriteResult] = {}
    archive.ingest(
        files,
        collection,
        workers=1,
        progress=lambda result: results.__setitem__(result.source, result),
        write_report=False,
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
