"""Genomic and clinical data keyed by TCGA participant barcode (issue 4)."""

from __future__ import annotations

from ria.genomics.barcode import SampleKind, TcgaBarcode, participant_of

__all__ = ["SampleKind", "TcgaBarcode", "participant_of"]
