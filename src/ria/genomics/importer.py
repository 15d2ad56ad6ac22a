"""Importing one genomic or clinical file: recognise it, hash it, stream it into one source.

The Python API the CLI and notebooks share: :func:`import_file`, :func:`detect_kind` and
:func:`sources`. Kinds are recognised from content, never from file names, because GDC and R
packages name files freely (``.txt`` MAFs, ``.csv`` biotabs, anything gzipped).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from os import PathLike
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ria.archive import Archive
from ria.catalog.database import refresh_statistics
from ria.catalog.schema import genomic_source
from ria.errors import ConflictError, InvalidParameterError
from ria.genomics.clinical import CLINICAL_MARKERS, canonical, import_clinical_json, import_clinical_table
from ria.genomics.fields import BARCODE_COLUMNS
from ria.genomics.labels import import_labels
from ria.genomics.maf import GENE_COLUMNS, VARIANT_COLUMNS, import_maf, import_mutation_table
from ria.genomics.projects import validate_project
from ria.genomics.readers import content_sha256, is_json, open_table
from ria.genomics.report import KINDS, GenomicSource, ImportReport
from ria.genomics.store import SourceWriter

__all__ = ["detect_kind", "import_file", "sources"]

log = logging.getLogger(__name__)
# Planner statistics refreshed after every import: cohort queries join these per participant.
_TABLES = ("genomic_source", "mutation", "clinical", "label_field", "label")


def _clinical(path: Path, writer: SourceWriter) -> None:
    (import_clinical_json if is_json(path) else import_clinical_table)(path, writer)


IMPORTERS: dict[str, Callable[[Path, SourceWriter], None]] = {
    "maf": import_maf,
    "clinical": _clinical,
    "mutations": import_mutation_table,
    "labels": import_labels,
}


def detect_kind(path: str | PathLike[str]) -> str:
    """Which importer ``path`` needs, from its content: "maf", "clinical", "mutations" or "labels".

    MAF: ``Hugo_Symbol`` and ``Tumor_Sample_Barcode``. Otherwise a barcode column is required, and
    then a gene plus a variant classification column means mutations, a survival fact (vital
    status, days to death or last follow-up) means clinical, and anything else is labels.
    GDC clinical JSON is clinical.
    """
    path = _existing(path)
    if is_json(path):
        return "clinical"
    with open_table(path) as table:
        columns = table.columns
        if "hugo_symbol" in columns and "tumor_sample_barcode" in columns:
            return "maf"
        if table.has(*BARCODE_COLUMNS) or any(c.endswith("barcode") for c in columns):
            if table.has(*GENE_COLUMNS) and table.has(*VARIANT_COLUMNS):
                return "mutations"
            if any(canonical(c) in CLINICAL_MARKERS for c in columns):
                return "clinical"
            return "labels"
    raise InvalidParameterError(
        "kind",
        f"{path.name}: cannot tell what this file holds. Expected Hugo_Symbol + Tumor_Sample_Barcode (maf), "
        f"or a barcode column ({', '.join(BARCODE_COLUMNS)}) with gene + variant_classification "
        "(mutations), with vital_status / days_to_death / days_to_last_follow_up (clinical), or with any "
        f"other columns (labels). Found: {', '.join(table.header[:20]) or 'no columns'}",
    )


def import_file(
    archive: Archive, path: str | PathLike[str], *, kind: str | None = None, project: str | None = None
) -> ImportReport:
    """Import one file as one source, replacing an earlier import of the same content.

    ``kind`` forces the importer (default: :func:`detect_kind`); ``project`` (e.g. ``TCGA-LUAD``)
    is stored on every row instead of what the file or the imaging says. Bad rows are counted and
    explained in the report; a file that cannot be read at all raises and leaves the catalogue as
    it was.
    """
    path = _existing(path)
    if kind is not None and kind not in KINDS:
        raise InvalidParameterError("kind", f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    project = validate_project(project)
    sha256 = content_sha256(path)
    kind = kind or detect_kind(path)
    report = ImportReport(kind=kind, name=path.name, sha256=sha256)
    try:
        with SourceWriter(archive.engine, report, project=project) as writer:
            IMPORTERS[kind](path, writer)
    except IntegrityError as exc:
        # Only the (kind, sha256) key can clash: the same content being imported by another process.
        raise ConflictError(
            f"{path.name}: the same content was imported by another process meanwhile; run the import again"
        ) from exc
    refresh_statistics(archive.engine, _TABLES)
    log.info("%s", report.summary())
    return report


def sources(archive: Archive) -> list[GenomicSource]:
    """Every imported source, oldest first."""
    with archive.engine.connect() as conn:
        rows = conn.execute(select(genomic_source).order_by(genomic_source.c.id)).mappings().all()
    return [
        GenomicSource(
            id=row["id"],
            kind=row["kind"],
            name=row["name"],
            sha256=row["sha256"],
            project=row["project"],
            rows_read=row["rows_read"],
            rows_stored=row["rows_stored"],
            rows_linked=row["rows_linked"],
            rows_unmatched=row["rows_unmatched"],
            rows_rejected=row["rows_rejected"],
            imported_at=row["imported_at"],
        )
        for row in rows
    ]


def _existing(path: str | PathLike[str]) -> Path:
    resolved = Path(path)
    if not resolved.is_file():
        raise InvalidParameterError("path", f"{resolved}: no such file")
    return resolved
