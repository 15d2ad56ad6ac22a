"""The catalogue: schema, migrations, batched writes and read queries (the only SQL in Ria)."""

from ria.catalog.database import create_catalog_engine, upgrade_schema
from ria.catalog.queries import Catalog, CollectionStats
from ria.catalog.records import InstanceRecord, Outcome, WriteResult
from ria.catalog.writer import CatalogWriter

__all__ = [
    "Catalog",
    "CatalogWriter",
    "CollectionStats",
    "InstanceRecord",
    "Outcome",
    "WriteResult",
    "create_catalog_engine",
    "upgrade_schema",
]
