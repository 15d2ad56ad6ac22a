"""Manifests: lists of series to download, in TCIA's ``.tcia`` format, as CSV, and for remote series
as an ``s5cmd`` manifest (IDC's)."""

from ria.manifest.formats import (
    CSV_COLUMNS,
    Manifest,
    ManifestFormat,
    iter_csv_manifest,
    iter_s5cmd_manifest,
    iter_tcia_manifest,
    parse_manifest,
    read_manifest,
)

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
