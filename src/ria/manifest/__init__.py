"""Manifests: lists of series to download, in TCIA's ``.tcia`` format and as CSV."""

from ria.manifest.formats import (
    CSV_COLUMNS,
    Manifest,
    ManifestFormat,
    iter_csv_manifest,
    iter_tcia_manifest,
    parse_manifest,
    read_manifest,
)

__all__ = [
    "CSV_COLUMNS",
    "Manifest",
    "ManifestFormat",
    "iter_csv_manifest",
    "iter_tcia_manifest",
    "parse_manifest",
    "read_manifest",
]
