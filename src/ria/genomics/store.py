"""Writing one imported file: batched inserts, replace-by-content, all in one transaction.

A ``genomic_source`` row per (kind, SHA-256 of the content) makes imports idempotent: importing
the same content again deletes that source's rows and writes them anew, inside the same
transaction as every insert of the file, so a reader of the catalogue sees the old import or the
new one, never half of either, and a file that fails midway leaves nothing behind.

Linking to imaging happens here too: a participant is linked when an imaging PatientID equals its
12-character barcode, and a row whose file names no project takes the collection the participant's
images are filed in. Lookups go in batches and are cached, one query per few hundred participants.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, update

from ria.catalog.schema import clinical, collection, genomic_source, label, label_field, mutation, patient
from ria.genomics.report import ImportReport

__all__ = ["BATCH_ROWS", "SourceWriter", "imaging_collections"]

log = logging.getLogger(__name__)

BATCH_ROWS = 5000
"""Rows per executemany: big enough to amortise round trips, small enough to stream."""

_LOOKUP_CHUNK = 500
_SOURCE_TABLES = (mutation, clinical, label, label_field)


def imaging_collections(conn: Connection, participants: Iterable[str]) -> dict[str, str]:
    """participant → the imaging collection its images are filed in, for those that have images.

    A participant filed in several collections gets a ``TCGA-`` one if any (the project the
    genomics belong to), else the first by name, so the answer does not depend on row order.
    """
    wanted = sorted(set(participants))
    found: dict[str, list[str]] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        query = (
            select(patient.c.patient_id, collection.c.name)
            .join(collection, collection.c.id == patient.c.collection_id)
            .where(patient.c.patient_id.in_(chunk))
        )
        for patient_id, name in conn.execute(query):
            found.setdefault(patient_id, []).append(name)
    return {
        pid: min(names, key=lambda n: (not n.upper().startswith("TCGA-"), n)) for pid, names in found.items()
    }


class SourceWriter:
    """Collects one file's rows and writes them as one source, replacing an earlier import of it.

    Importers call :meth:`reject` or :meth:`kept` once per data row (that is what the report
    counts) and :meth:`put` for each catalogue row a kept row produces. Use as a context manager:
    leaving it normally commits, an exception rolls everything back.
    """

    def __init__(self, engine: Engine, report: ImportReport, *, project: str | None = None) -> None:
        self.engine = engine
        self.report = report
        self.project = project
        self._conn: Connection | None = None
        self._pending: dict[Table, list[tuple[dict[str, Any], str | None]]] = {}
        self._pending_rows = 0
        self._imaging: dict[str, str | None] = {}
        self._kept: Counter[str] = Counter()
        self._projects: set[str] = set()

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("SourceWriter used outside its with block")
        return self._conn

    @property
    def source_id(self) -> int:
        assert self.report.source_id is not None
        return self.report.source_id

    def __enter__(self) -> SourceWriter:
        self._conn = self.engine.connect()
        self._conn.begin()
        try:
            self._replace_source()
        except BaseException:
            self._close(commit=False)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._close(commit=False)
            return
        try:
            self.flush()
            self._finish()
        except BaseException:
            self._close(commit=False)
            raise
        self._close(commit=True)

    def _close(self, *, commit: bool) -> None:
        conn, self._conn = self.conn, None
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()

    def _replace_source(self) -> None:
        report = self.report
        earlier = self.conn.execute(
            select(genomic_source.c.id).where(
                genomic_source.c.kind == report.kind, genomic_source.c.sha256 == report.sha256
            )
        ).scalar_one_or_none()
        if earlier is not None:
            for table in _SOURCE_TABLES:
                self.conn.execute(delete(table).where(table.c.source_id == earlier))
            self.conn.execute(delete(genomic_source).where(genomic_source.c.id == earlier))
            report.replaced = True
            log.info("replacing source %s (%s) imported earlier as id %s", report.name, report.kind, earlier)
        inserted = self.conn.execute(
            genomic_source.insert().values(
                kind=report.kind,
                name=report.name[:512],
                sha256=report.sha256,
                project=self.project,
                rows_read=0,
                rows_stored=0,
                rows_linked=0,
                rows_unmatched=0,
                rows_rejected=0,
                imported_at=datetime.now(UTC),
            )
        )
        key = inserted.inserted_primary_key
        assert key is not None
        report.source_id = int(key[0])

    def reject(self, where: int | str, reason: str) -> None:
        """Count a data row that was refused, and why (``where``: line number or ``case N``)."""
        self.report.rows_read += 1
        self.report.reject(where, reason)

    def kept(self, participant: str) -> None:
        """Count a data row that made it into the catalogue, for ``participant``."""
        self.report.rows_read += 1
        self.report.rows_stored += 1
        self._kept[participant] += 1

    def put(
        self, table: Table, row: dict[str, Any], *, participant: str | None = None, project: str | None = None
    ) -> None:
        """Queue a catalogue row; ``project`` is what the file said (the store may fill it in)."""
        row["source_id"] = self.source_id
        if participant is not None:
            row["participant"] = participant
        self._pending.setdefault(table, []).append((row, project))
        self._pending_rows += 1
        if self._pending_rows >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Resolve projects for the queued rows and insert them (one executemany per table)."""
        if not self._pending_rows:
            return
        self._resolve(
            row["participant"] for rows in self._pending.values() for row, _ in rows if "participant" in row
        )
        for table, rows in self._pending.items():
            if "project" in table.c:
                for row, named in rows:
                    row["project"] = self.project or named or self._imaging.get(row["participant"])
                    if row["project"] is not None:
                        self._projects.add(row["project"])
            self.conn.execute(table.insert(), [row for row, _ in rows])
        self._pending.clear()
        self._pending_rows = 0

    def execute(self, statement: Any) -> None:
        """Run a statement in the import's transaction (e.g. a final UPDATE over this source's rows)."""
        self.flush()
        self.conn.execute(statement)

    def _resolve(self, participants: Iterable[str]) -> None:
        unknown = {p for p in participants if p not in self._imaging}
        if unknown:
            found = imaging_collections(self.conn, unknown)
            self._imaging.update({p: found.get(p) for p in unknown})

    def _finish(self) -> None:
        report = self.report
        self._resolve(self._kept)
        linked = {p for p in self._kept if self._imaging.get(p) is not None}
        report.rows_linked = sum(self._kept[p] for p in linked)
        report.rows_unmatched = report.rows_stored - report.rows_linked
        report.participants = len(self._kept)
        report.participants_linked = len(linked)
        report.projects = sorted(self._projects)
        source_project = self.project or (report.projects[0] if len(report.projects) == 1 else None)
        self.conn.execute(
            update(genomic_source)
            .where(genomic_source.c.id == self.source_id)
            .values(
                project=source_project,
                rows_read=report.rows_read,
                rows_stored=report.rows_stored,
                rows_linked=report.rows_linked,
                rows_unmatched=report.rows_unmatched,
                rows_rejected=report.rows_rejected,
            )
        )
