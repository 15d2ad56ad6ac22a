"""The real TCGA imaging catalogue: NCI Imaging Data Commons' series index filed as remote series.

``import_idc(archive)`` reads the parquet index the ``idc-index-data`` package
ships (``pip install 'ria[idc]'``) and files every TCGA series — or the
collections asked for — under its TCIA name, as metadata-only series that
point at their images in IDC's public buckets. They answer every query like
local series; a download says where the images live.
"""

from ria.idc.index import IdcIndex, IdcSeries, default_parquet, open_index
from ria.idc.load import CollectionImport, IdcImportReport, ImportProgress, import_idc
from ria.idc.vocabulary import TCGA_CANCER_TYPES, Licence, idc_collection_id, licence, tcia_name

__all__ = [
    "TCGA_CANCER_TYPES",
    "CollectionImport",
    "IdcImportReport",
    "IdcIndex",
    "IdcSeries",
    "ImportProgress",
    "Licence",
    "default_parquet",
    "idc_collection_id",
    "import_idc",
    "licence",
    "open_index",
    "tcia_name",
]
