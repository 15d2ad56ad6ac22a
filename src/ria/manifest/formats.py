"""Write and read download manifests.

A ``.tcia`` manifest is what NBIA Data Retriever and ``tcia_utils`` consume: six
``key=value`` header lines, then one SeriesInstanceUID per line. Readers skip
every line holding ``=`` (``tcia_utils`` drops exactly the first six lines), so
nothing but UIDs may follow the header. A CSV manifest is the newer convention:
any CSV with a ``SeriesInstanceUID`` column; Ria writes one row per series with
the columns researchers filter on.

Writers are generators of text lines so a manifest for a million series streams
to a file or an HTTP response without being built in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ria.catalog.search import SeriesRow
from ria.dicom.uids import is_valid_uid
from ria.errors import InvalidParameterError

__all__ = [
    "CSV_COLUMNS",
    "Manifest",
    "ManifestFormat",
    "iter_csv_manifest",
    "iter_s5cmd_manifest",
    "iter_tcia_manifest",
    "parse_manifest",
    "read_manifest",
]

CSV_COLUMNS = (
    "SeriesInstanceUID",
    "Collection",
    "PatientID",
    "StudyInstanceUID",
    "StudyDate",
    "Modality",
    "BodyPartExamined",
    "SeriesDescription",
    "ImageCount",
    "FileSize",
    "EmbargoNotice",
)
# Header aliases other tools write for the UID column (TCIA's portal CSV, getSeriesMetaData labels).
_UID_COLUMNS = ("SeriesInstanceUID", "Series Instance UID", "Series UID", "SeriesUID")


class ManifestFormat(StrEnum):
    TCIA = "tcia"
    CSV = "csv"


@dataclass(frozen=True)
class Manifest:
    """The series a manifest lists, in file order, without repeats."""

    series_uids: tuple[str, ...]
    format: ManifestFormat
    include_annotation: bool = True
    download_server_url: str | None = None


def iter_tcia_manifest(
    series_uids: Iterable[str],
    *,
    download_server_url: str,
    include_annotation: bool = True,
    basket_id: str | None = None,
) -> Iterator[str]:
    """Lines (newline-terminated) of a ``.tcia`` manifest listing ``series_uids``."""
    if basket_id is None:
        basket_id = f"manifest-{int(dt.datetime.now(dt.UTC).timestamp() * 1000)}.tcia"
    yield f"downloadServerUrl={download_server_url}\n"
    yield f"includeAnnotation={'true' if include_annotation else 'false'}\n"
    yield "noOfrRetry=4\n"
    yield f"databasketId={basket_id}\n"
    yield "manifestVersion=3.0\n"
    yield "ListOfSeriesToDownload=\n"
    for uid in series_uids:
        yield f"{uid}\n"


def _csv_line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else v for v in values])
    return buffer.getvalue()


def iter_csv_manifest(
    rows: Iterable[SeriesRow], embargo_notices: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Lines of a CSV manifest: a header of :data:`CSV_COLUMNS`, then one row per series.

    ``embargo_notices`` (collection → notice, see :func:`ria.access.embargo.embargo_notices`)
    fills ``EmbargoNotice`` for series of collections under a publication embargo: a ``.tcia``
    manifest has no room for it (its readers take exactly six header lines), so the CSV
    manifest is where a download list tells its reader not to publish yet.
    """
    notices = embargo_notices or {}
    yield _csv_line(CSV_COLUMNS)
    for row in rows:
        yield _csv_line(
            (
                row.series_instance_uid,
                row.collection,
                row.patient_id,
                row.study_instance_uid,
                row.study_date.isoformat() if row.study_date else None,
                row.modality,
                row.body_part_examined,
                row.series_description,
                row.image_count,
                row.file_size,
                notices.get(row.collection),
            )
        )


def iter_s5cmd_manifest(rows: Iterable[SeriesRow], destination: str = ".") -> Iterator[str]:
    """Lines of an ``s5cmd run`` manifest copying each *remote* series from its object store.

    Remote series (``ria import-idc``) live in IDC's public buckets, not here; this is the
    manifest idc-index hands out for them, so ``s5cmd --no-sign-request run FILE`` fetches
    them into ``destination/<collection>/<PatientID>/<SeriesInstanceUID>/``. Local series
    have no object-store URL and are skipped (a ``.tcia`` manifest lists those).
    """
    for row in rows:
        if not row.is_remote or not row.source_url or not row.source_url.startswith(("s3://", "gs://")):
            continue
        folder = "/".join((destination.rstrip("/"), row.collection, row.patient_id, row.series_instance_uid))
        if any(c in row.source_url + folder for c in "'\"\n"):
            continue  # a quote would break the line's shell-style quoting: never emit it
        yield f"cp '{row.source_url}' '{folder}/'\n"


def _unique_uids(uids: Iterable[tuple[int, str]], where: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for number, uid in uids:
        if not is_valid_uid(uid):
            raise InvalidParameterError("manifest", f"{where} line {number}: {uid[:80]!r} is not a valid UID")
        seen.setdefault(uid, None)
    return tuple(seen)


def parse_manifest(text: str, *, name: str = "manifest") -> Manifest:
    """Parse a ``.tcia`` or CSV manifest, recognised from its content."""
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first:
        raise InvalidParameterError("manifest", f"{name} is empty")
    header = next(csv.reader([first]))
    uid_column = next((column for column in _UID_COLUMNS if column in header), None)
    if uid_column is not None:
        reader = csv.DictReader(io.StringIO(text))
        pairs = (
            (number, (row.get(uid_column) or "").strip())
            for number, row in enumerate(reader, start=2)
            if (row.get(uid_column) or "").strip()
        )
        return Manifest(_unique_uids(pairs, name), ManifestFormat.CSV)
    settings: dict[str, str] = {}
    uids: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
            continue
        uids.append((number, line))
    if "ListOfSeriesToDownload" not in settings and not uids:
        raise InvalidParameterError(
            "manifest", f"{name} is neither a .tcia manifest nor a CSV with a SeriesInstanceUID column"
        )
    return Manifest(
        _unique_uids(uids, name),
        ManifestFormat.TCIA,
        include_annotation=settings.get("includeAnnotation", "true").lower() != "false",
        download_server_url=settings.get("downloadServerUrl"),
    )


def read_manifest(path: Path | str) -> Manifest:
    """Read a manifest file (``.tcia`` or CSV)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidParameterError("manifest", f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidParameterError("manifest", f"{path} is not a text manifest") from exc
    return parse_manifest(text, name=str(path))
