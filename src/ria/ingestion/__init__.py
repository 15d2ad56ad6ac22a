"""Ingest: files, folders and zip archives into the blob store and the catalogue."""

from ria.ingestion.pipeline import Ingestor, validate_collection_name
from ria.ingestion.report import IngestReport
from ria.ingestion.sources import SourceItem, iter_sources

__all__ = ["IngestReport", "Ingestor", "SourceItem", "iter_sources", "validate_collection_name"]
