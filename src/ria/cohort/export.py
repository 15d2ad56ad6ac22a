"""Cohort results as text: series and patient tables in CSV and JSON, streamed row by row.

The CLI and the HTTP API both write through these generators, so ``ria cohort
--format csv`` and ``POST /api/v1/cohorts/query?format=csv`` give byte-identical
tables, and a cohort of a hundred thousand series never sits in memory as text.
Column names are TCIA's (``PatientID``, ``SeriesInstanceUID`` …) so the tables
drop into existing TCIA scripts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ria.catalog.search import SeriesRow
from ria.cohort.results import PatientSummary

__all__ = [
    "SERIES_COLUMNS",
    "iter_csv",
    "iter_json_rows",
    "patient_record",
    "series_record",
]

SERIES_COLUMNS: tuple[str, ...] = (
    "Collection",
    "PatientID",
    "StudyInstanceUID",
    "StudyDate",
    "SeriesInstanceUID",
    "Modality",
    "BodyPartExamined",
    "Manufacturer",
    "ManufacturerModelName",
    "SeriesDescription",
    "SeriesNumber",
    "ImageCount",
    "FileSize",
    "Remote",
    "SourceURL",
)


def series_record(row: SeriesRow) -> dict[str, Any]:
    """One series as a flat record with TCIA's column names."""
    return {
        "Collection": row.collection,
        "PatientID": row.patient_id,
        "StudyInstanceUID": row.study_instance_uid,
        "StudyDate": row.study_date.isoformat() if row.study_date else None,
        "SeriesInstanceUID": row.series_instance_uid,
        "Modality": row.modality,
        "BodyPartExamined": row.body_part_examined,
        "Manufacturer": row.manufacturer,
        "ManufacturerModelName": row.manufacturer_model_name,
        "SeriesDescription": row.series_description,
        "SeriesNumber": row.series_number,
        "ImageCount": row.image_count,
        "FileSize": row.file_size,
        "Remote": row.is_remote,
        "SourceURL": row.source_url,
    }


def patient_record(summary: PatientSummary) -> dict[str, Any]:
    """One patient as a flat record (clinical fields, mutation count, asked-for genes and labels)."""
    return summary.flat()


def _line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else v for v in values])
    return buffer.getvalue()


def iter_csv(records: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> Iterator[str]:
    """CSV lines: a header (``columns``, or the first record's keys), then one line per record."""
    header: Sequence[str] | None = columns
    if header is not None:
        yield _line(header)
    for record in records:
        if header is None:
            header = list(record)
            yield _line(header)
        yield _line(record.get(name) for name in header)


def iter_json_rows(
    records: Iterable[dict[str, Any]], key: str, extra: dict[str, Any] | None = None
) -> Iterator[str]:
    """A JSON object ``{**extra, key: [records...], "count": n}`` in pieces, one record at a time."""
    head = json.dumps(extra or {})[:-1]
    yield head + (", " if extra else "") + json.dumps(key) + ": ["
    count = 0
    for record in records:
        yield ("," if count else "") + "\n" + json.dumps(record, default=str)
        count += 1
    yield f'\n], "count": {count}}}\n'
