"""The catalogue: schema, migrations, batched writes and read queries (the only SQL in Ria)."""

from ria.catalog.database import create_catalog_engine, upgrade_schema
from ria.catalog.queries import Catalog, CollectionStats
from ria.catalog.records import InstanceRecord, Outcome, WriteResult
from ria.catalog.search import SeriesFilter, SeriesRow, to_dataframe
from ria.catalog.writer import CatalogWriter

__all__ = [
    "Catalog",
    "CatalogWriter",
    "CollectionStats",
    "InstanceRecord",
    "Outcome",
    "SeriesFilter",
    "SeriesRow",
    "WriteResult",
    "create_catalog_engine",
    "to_dataframe",
    "upgrade_schema",
]
