"""Ingest: files, folders and zip archives into the blob store and the catalogue."""

from ria.ingest.pipeline import Ingestor, validate_collection_name
from ria.ingest.report import IngestReport
from ria.ingest.sources import SourceItem, iter_sources

__all__ = ["IngestReport", "Ingestor", "SourceItem", "iter_sources", "validate_collection_name"]
