"""Reading NCI Imaging Data Commons' series index (the ``idc-index-data`` parquet), a batch at a time.

The index is one parquet file of about a million series rows (every IDC
collection), stored as a single row group. ``pyarrow.dataset`` scans a row
group whole before filtering it (≈ 900 MB resident here), so this reads with
``ParquetFile.iter_batches`` instead, which decodes a few thousand rows at a
time (≈ 300 MB peak, half a second for the whole file), keeps only the columns
the catalogue needs, and filters each batch on ``collection_id``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from ria.errors import ConfigurationError, InvalidParameterError, close_matches
from ria.idc.vocabulary import idc_collection_id, tcia_name

__all__ = [
    "IdcIndex",
    "IdcSeries",
    "default_parquet",
    "open_index",
]

_INSTALL_HINT = "pip install 'ria[idc]'"
_BATCH_ROWS = 5000
_INT32 = 2**31 - 1
_INTEGER = re.compile(r"[+-]?\d{1,10}")

# Parquet column → IdcSeries field, in IdcSeries order.
_COLUMNS = {
    "collection_id": "collection_id",
    "PatientID": "patient_id",
    "StudyInstanceUID": "study_instance_uid",
    "SeriesInstanceUID": "series_instance_uid",
    "StudyDate": "study_date",
    "StudyDescription": "study_description",
    "PatientAge": "patient_age",
    "PatientSex": "patient_sex",
    "Modality": "modality",
    "SeriesDate": "series_date",
    "SeriesDescription": "series_description",
    "BodyPartExamined": "body_part_examined",
    "SeriesNumber": "series_number",
    "Manufacturer": "manufacturer",
    "ManufacturerModelName": "manufacturer_model_name",
    "instanceCount": "image_count",
    "series_size_MB": "file_size",
    "series_aws_url": "source_url",
    "source_DOI": "doi",
    "license_short_name": "license_short_name",
    "analysis_result_id": "analysis_result_id",
}


class IdcSeries(NamedTuple):
    """One series row of the index, with values already in the catalogue's types."""

    collection_id: str
    patient_id: str
    study_instance_uid: str
    series_instance_uid: str
    study_date: dt.date | None
    study_description: str | None
    patient_age: str | None
    patient_sex: str | None
    modality: str | None
    series_date: dt.date | None
    series_description: str | None
    body_part_examined: str | None
    series_number: int | None
    manufacturer: str | None
    manufacturer_model_name: str | None
    image_count: int
    file_size: int
    source_url: str | None
    doi: str | None
    license_short_name: str | None
    analysis_result_id: str | None


def _pyarrow() -> tuple[ModuleType, ModuleType, ModuleType]:
    """pyarrow, its compute and parquet modules (an optional dependency, hence imported here)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigurationError(f"reading the IDC index needs pyarrow: {_INSTALL_HINT}") from exc
    return pa, pc, pq


def default_parquet() -> Path:
    """The index parquet the installed ``idc-index-data`` package ships."""
    try:
        import idc_index_data
    except ImportError as exc:
        raise ConfigurationError(f"the IDC index (idc-index-data) is not installed: {_INSTALL_HINT}") from exc
    path = idc_index_data.IDC_INDEX_PARQUET_FILEPATH
    if path is None:
        raise ConfigurationError(f"the idc-index-data package has no series index parquet: {_INSTALL_HINT}")
    return Path(path)


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _integer(text: str | None) -> int | None:
    """SeriesNumber is a string in the index (IS in DICOM); the catalogue keeps it when it is an int32."""
    if text is None or not _INTEGER.fullmatch(text.strip()):
        return None
    number = int(text)
    return number if -_INT32 <= number <= _INT32 else None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


@dataclass(frozen=True)
class IdcIndex:
    """An opened index: where it is, which release, and how many series each collection has."""

    path: Path
    version: str | None
    counts: dict[str, int]
    """``collection_id`` → number of series rows."""

    def tcga_collections(self) -> list[str]:
        """Every TCGA collection in the index (IDC ids), sorted."""
        return sorted(name for name in self.counts if name.startswith("tcga_"))

    def resolve(self, names: Sequence[str] | None) -> list[str]:
        """IDC ids for ``names`` (IDC ids or TCIA names, any case); all TCGA ones for ``None``.

        An unknown name is an error naming it and the closest known collections.
        """
        if names is None:
            return self.tcga_collections()
        chosen: list[str] = []
        for name in names:
            wanted = idc_collection_id(name)
            if wanted not in self.counts:
                close = close_matches(wanted, self.counts, limit=5)
                hint = (
                    "; did you mean " + ", ".join(f"{tcia_name(c)} ({c})" for c in close) + "?"
                    if close
                    else f"; the index has {len(self.counts)} collections, e.g. {tcia_name('tcga_luad')}"
                )
                raise InvalidParameterError(
                    "collection",
                    f"no collection {name!r} in the IDC index{hint}",
                    close_matches=[tcia_name(c) for c in close],
                )
            if wanted not in chosen:
                chosen.append(wanted)
        return chosen

    def iter_batches(self, collection_ids: Sequence[str]) -> Iterator[list[IdcSeries]]:
        """The series rows of ``collection_ids``, a few thousand at a time, in file order."""
        pa, pc, pq = _pyarrow()
        wanted = pa.array(sorted(set(collection_ids)), type=pa.large_string())
        reader = pq.ParquetFile(self.path, pre_buffer=False)
        try:
            for batch in reader.iter_batches(batch_size=_BATCH_ROWS, columns=list(_COLUMNS)):
                kept = batch.filter(pc.is_in(batch.column("collection_id"), value_set=wanted))
                if kept.num_rows:
                    yield _rows(kept)
        finally:
            reader.close()


def _rows(batch: Any) -> list[IdcSeries]:
    """A record batch as typed rows (column-wise ``to_pylist``: far faster than row-wise)."""
    c = {name: batch.column(name).to_pylist() for name in _COLUMNS}
    return [
        IdcSeries(
            collection_id=c["collection_id"][i],
            patient_id=c["PatientID"][i],
            study_instance_uid=c["StudyInstanceUID"][i],
            series_instance_uid=c["SeriesInstanceUID"][i],
            study_date=_date(c["StudyDate"][i]),
            study_description=_text(c["StudyDescription"][i]),
            patient_age=_text(c["PatientAge"][i]),
            patient_sex=_text(c["PatientSex"][i]),
            modality=_text(c["Modality"][i]),
            series_date=_date(c["SeriesDate"][i]),
            series_description=_text(c["SeriesDescription"][i]),
            body_part_examined=_text(c["BodyPartExamined"][i]),
            series_number=_integer(c["SeriesNumber"][i]),
            manufacturer=_text(c["Manufacturer"][i]),
            manufacturer_model_name=_text(c["ManufacturerModelName"][i]),
            image_count=int(c["instanceCount"][i] or 0),
            file_size=round((c["series_size_MB"][i] or 0.0) * 1e6),
            source_url=_text(c["series_aws_url"][i]),
            doi=_text(c["source_DOI"][i]),
            license_short_name=_text(c["license_short_name"][i]),
            analysis_result_id=_text(c["analysis_result_id"][i]),
        )
        for i in range(batch.num_rows)
        if c["SeriesInstanceUID"][i] and c["StudyInstanceUID"][i] and c["PatientID"][i]
    ]


def open_index(parquet: Path | None = None) -> IdcIndex:
    """Open the index (``parquet``, default: the installed ``idc-index-data``); count each collection."""
    path = default_parquet() if parquet is None else Path(parquet)
    if not path.is_file():
        raise InvalidParameterError("parquet", f"no IDC index parquet at {path}")
    _, pc, pq = _pyarrow()
    try:
        reader = pq.ParquetFile(path, pre_buffer=False)
    except Exception as exc:  # pyarrow raises several unrelated types for a non-parquet file
        raise InvalidParameterError("parquet", f"{path} is not a readable parquet file: {exc}") from exc
    try:
        names = set(reader.schema_arrow.names)
        missing = sorted(set(_COLUMNS) - names)
        if missing:
            raise InvalidParameterError(
                "parquet", f"{path} is not an IDC series index: missing columns {', '.join(missing)}"
            )
        metadata = reader.schema_arrow.metadata or {}
        raw_version = metadata.get(b"idc_index_data_version")
        counts: dict[str, int] = {}
        for batch in reader.iter_batches(batch_size=65536, columns=["collection_id"]):
            for item in pc.value_counts(batch.column(0)).to_pylist():
                if item["values"] is not None:
                    counts[item["values"]] = counts.get(item["values"], 0) + int(item["counts"])
    finally:
        reader.close()
    version = raw_version.decode() if raw_version else None
    return IdcIndex(path=path, version=version, counts=counts)
