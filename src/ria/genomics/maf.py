"""Somatic mutations: MAF files and simple patient/gene/classification tables → ``mutation`` rows.

MAFs come as current GDC masked somatic MAFs (``#version gdc-1.0.0`` header lines, GRCh38, 140
columns) and as legacy TCGA MAFs (hg19, 34 columns, without ``HGVSp_Short`` or read depths). Only
``Hugo_Symbol`` and ``Tumor_Sample_Barcode`` are required; every other kept column is NULL when the
file lacks it. The tumour sample barcode is kept as well as its participant, so a study can still
tell a primary from a recurrence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ria.catalog.schema import mutation
from ria.errors import InvalidParameterError
from ria.genomics.fields import RowRejected, barcode_column, barcode_of, bounded, whole_number
from ria.genomics.projects import project_from_row
from ria.genomics.readers import Row, open_table
from ria.genomics.store import SourceWriter

__all__ = ["GENE_COLUMNS", "MAF_REQUIRED", "VARIANT_COLUMNS", "import_maf", "import_mutation_table"]

MAF_REQUIRED = ("hugo_symbol", "tumor_sample_barcode")

GENE_COLUMNS = ("hugo_symbol", "gene", "gene_symbol", "symbol")
VARIANT_COLUMNS = ("variant_classification", "variant_class", "classification")

# catalogue column → (MAF column as spelled in the MAF specification, length limit or None for numbers)
_MAF_TEXT = {
    "variant_classification": ("Variant_Classification", 64),
    "variant_type": ("Variant_Type", 16),
    "hgvsp_short": ("HGVSp_Short", 256),
    "chromosome": ("Chromosome", 16),
    "reference_allele": ("Reference_Allele", 1_000_000),
    "tumor_seq_allele2": ("Tumor_Seq_Allele2", 1_000_000),
    "ncbi_build": ("NCBI_Build", 16),
}
_MAF_NUMBERS = {
    "start_position": "Start_Position",
    "end_position": "End_Position",
    "t_depth": "t_depth",
    "t_alt_count": "t_alt_count",
}


def import_maf(path: Path, writer: SourceWriter) -> None:
    """Stream a MAF into ``mutation``: one row per variant line, bad lines rejected by number."""
    with open_table(path) as table:
        missing = [name for name in MAF_REQUIRED if name not in table.columns]
        if missing:
            raise InvalidParameterError(
                "file",
                f"{path.name}: not a MAF: no {' or '.join(missing)} column "
                "(a MAF needs Hugo_Symbol and Tumor_Sample_Barcode)",
            )
        present = set(table.columns)
        for row in table.rows:
            try:
                values, participant = _maf_row(row, present)
            except RowRejected as exc:
                writer.reject(row.line, str(exc))
                continue
            writer.kept(participant)
            writer.put(
                mutation, values, participant=participant, project=project_from_row(row, table.columns)
            )


def _maf_row(row: Row, present: set[str]) -> tuple[dict[str, Any], str]:
    if row.problem is not None:
        raise RowRejected(row.problem)
    barcode = barcode_of(row, "tumor_sample_barcode", "Tumor_Sample_Barcode")
    hugo = bounded(row, "hugo_symbol", "Hugo_Symbol", 64)
    if hugo is None:
        raise RowRejected("Hugo_Symbol is empty")
    values: dict[str, Any] = {"hugo_symbol": hugo, "sample_barcode": str(barcode)}
    for column, (label, limit) in _MAF_TEXT.items():
        values[column] = bounded(row, column if column in present else None, label, limit)
    for column, label in _MAF_NUMBERS.items():
        values[column] = whole_number(row, column if column in present else None, label)
    return values, barcode.participant


def import_mutation_table(path: Path, writer: SourceWriter) -> None:
    """Stream a patient-by-gene table (``patient,gene,variant_classification``) into ``mutation``."""
    with open_table(path) as table:
        barcode = barcode_column(table, path.name)
        gene = table.has(*GENE_COLUMNS)
        if gene is None:
            raise InvalidParameterError(
                "file", f"{path.name}: no gene column (expected one of {', '.join(GENE_COLUMNS)})"
            )
        variant = table.has(*VARIANT_COLUMNS)
        for row in table.rows:
            try:
                if row.problem is not None:
                    raise RowRejected(row.problem)
                parsed = barcode_of(row, barcode)
                symbol = bounded(row, gene, gene, 64)
                if symbol is None:
                    raise RowRejected(f"{gene} is empty")
                classification = bounded(row, variant, variant or "", 64)
            except RowRejected as exc:
                writer.reject(row.line, str(exc))
                continue
            values = {
                "hugo_symbol": symbol,
                "variant_classification": classification,
                "sample_barcode": str(parsed) if parsed.sample_type is not None else None,
            }
            writer.kept(parsed.participant)
            writer.put(
                mutation, values, participant=parsed.participant, project=project_from_row(row, table.columns)
            )
