"""Genomic and clinical data keyed by TCGA participant barcode (issue 4).

Import MAFs, clinical tables, mutation tables and per-patient labels into the catalogue, linked to
imaging by the 12-character participant barcode::

    from ria import Archive, Settings
    from ria.genomics import import_file, sources

    with Archive(Settings(data_dir="ria-data")) as archive:
        report = import_file(archive, "tcga_luad.maf.gz")
        print(report.summary())
"""

from __future__ import annotations

from ria.genomics.barcode import SampleKind, TcgaBarcode, participant_of
from ria.genomics.importer import detect_kind, import_file, sources
from ria.genomics.report import KINDS, GenomicSource, ImportReport

__all__ = [
    "KINDS",
    "GenomicSource",
    "ImportReport",
    "SampleKind",
    "TcgaBarcode",
    "detect_kind",
    "import_file",
    "participant_of",
    "sources",
]
