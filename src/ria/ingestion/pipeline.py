"""The ingest pipeline: parallel stage-and-parse workers, one catalogue writer.

Shape (see docs/architecture.md)::

    iter_sources → chunks → worker processes (stage, hash, parse, commit blob)
                 → batches → CatalogWriter (one transaction per batch) → report

Memory is bounded by ``chunk_size * max in-flight chunks + batch_size`` records,
whatever the number of files. Blobs are committed (and, with ``fsync``, made
durable) before the rows that reference them, so a crash at any moment leaves
at worst unreferenced blobs, which a rerun reuses.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import multiprocessing
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from os import PathLike
from pathlib import Path

from ria.catalog.records import InstanceRecord, Outcome, WriteResult
from ria.catalog.writer import CatalogWriter
from ria.dicom.header import InstanceHeader
from ria.errors import InvalidParameterError
from ria.ingestion.report import IngestReport, ReportWriter
from ria.ingestion.sources import SourceItem, iter_sources
from ria.ingestion.worker import Rejection, Transform, init_worker, prepare_chunk, prepare_chunk_in_worker
from ria.storage.base import BlobStore

__all__ = ["Ingestor", "ProgressCallback", "validate_collection_name"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[WriteResult], None]
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}$")
CHUNK_SIZE = 64
INLINE_LIMIT = 64


def validate_collection_name(name: str) -> str:
    """Collection names appear in URLs, manifests and folder names: keep them plain."""
    if not _COLLECTION_NAME.fullmatch(name or "") or name != name.strip():
        raise InvalidParameterError(
            "collection",
            f"invalid collection name {name!r}: use 1-64 letters, digits, spaces or ._()+- "
            "starting with a letter or digit (e.g. TCGA-LUAD)",
        )
    return name


def _chunked(items: Iterator[SourceItem], size: int) -> Iterator[list[SourceItem]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


_STORED = (Outcome.INGESTED, Outcome.DUPLICATE, Outcome.QUARANTINED)
"""Outcomes after which the instance is in the collection (its PatientID is then checked)."""


class Ingestor:
    """Runs one ingest into one collection. Use :meth:`Archive.ingest` rather than this directly."""

    def __init__(
        self,
        store: BlobStore,
        writer: CatalogWriter,
        *,
        workers: int,
        batch_size: int,
        report_dir: Path | None,
        transform: Transform | None = None,
        headers: Mapping[str, InstanceHeader] | None = None,
    ) -> None:
        self._transform = transform
        self._headers = headers
        self._store = store
        self._writer = writer
        self._workers = workers
        self._batch_size = batch_size
        self._report_dir = report_dir

    def run(
        self,
        paths: Iterable[str | PathLike[str]],
        collection: str,
        *,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        validate_collection_name(collection)
        items = iter_sources(list(paths))
        first = next(items, None)  # raises for missing paths before any work
        report = IngestReport(collection=collection)
        started = time.perf_counter()
        self._store.clear_staging()
        with ReportWriter(report, self._report_path(collection)) as out:
            if first is not None:
                stream = itertools.chain([first], items)
                batch: list[InstanceRecord] = []
                for result in self._prepared(stream):
                    if isinstance(result, Rejection):
                        self._emit(out, WriteResult(result.source, Outcome.REJECTED, result.reason), progress)
                        continue
                    if result.actions:
                        out.report.deid_actions.update(result.actions)
                    batch.append(result)
                    if len(batch) >= self._batch_size:
                        self._flush(collection, batch, out, progress)
                        batch = []
                self._flush(collection, batch, out, progress)
        report.seconds = time.perf_counter() - started
        log.info("%s", report.summary())
        return report

    def _report_path(self, collection: str) -> Path | None:
        if self._report_dir is None:
            return None
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", collection)
        return self._report_dir / f"ingest-{stamp}-{safe}.jsonl"

    @staticmethod
    def _emit(out: ReportWriter, result: WriteResult, progress: ProgressCallback | None) -> None:
        out.add(result)
        if progress is not None:
            progress(result)

    def _flush(
        self,
        collection: str,
        batch: Sequence[InstanceRecord],
        out: ReportWriter,
        progress: ProgressCallback | None,
    ) -> None:
        if not batch:
            return
        results = self._writer.write_batch(collection, batch)
        conflicting = {r.blob_key for r in results if r.outcome is Outcome.CONFLICT and r.blob_key}
        for key in self._writer.unreferenced_blobs(conflicting):
            # The conflicting bytes are not the catalogued object: do not keep them.
            self._store.delete(key)
        for record, result in zip(batch, results, strict=True):
            if result.outcome is Outcome.INGESTED:
                out.report.bytes_ingested += record.blob.size
            if result.outcome in _STORED:
                out.report.note_patient(record.header.patient_id)
            self._emit(out, result, progress)

    def _prepared(self, items: Iterator[SourceItem]) -> Iterator[InstanceRecord | Rejection]:
        head = list(itertools.islice(items, INLINE_LIMIT))
        if self._workers == 1 or len(head) < INLINE_LIMIT:
            for chunk in _chunked(itertools.chain(head, items), CHUNK_SIZE):
                yield from prepare_chunk(self._store, chunk, self._transform, self._headers)
            return
        # fork is fastest and needs no importable __main__ (scripts on stdin, -c);
        # it is only safe while this is the sole thread, so servers and notebooks
        # (which run threads) get forkserver instead.
        method = "fork" if threading.active_count() == 1 else "forkserver"
        context = multiprocessing.get_context(method)
        # Enough queued work that workers keep going while this process writes a batch.
        max_in_flight = max(self._workers * 4, 2 * self._batch_size // CHUNK_SIZE)
        with ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(self._store, self._transform),
        ) as pool:
            pending: deque[Future[list[InstanceRecord | Rejection]]] = deque()
            try:
                for chunk in _chunked(itertools.chain(head, items), CHUNK_SIZE):
                    pending.append(pool.submit(prepare_chunk_in_worker, chunk))
                    if len(pending) >= max_in_flight:
                        yield from pending.popleft().result()
                while pending:
                    yield from pending.popleft().result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
