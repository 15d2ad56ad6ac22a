"""The package's public face: ``ria.ingest`` and ``ria.open_archive`` as a notebook uses them."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import ria
from tests.conftest import Corpus


def test_top_level_ingest_function(tmp_path: Path, corpus: Corpus) -> None:
    report = ria.ingest([corpus.root], "TCGA-LUAD", data_dir=tmp_path)
    assert report.ingested == len(corpus.files)
    with ria.open_archive(tmp_path) as archive:
        assert archive.catalog.instance_count() == len(corpus.sop_uids)


def test_subpackages_import_without_shadowing() -> None:
    for name in (
        "ingestion.pipeline",
        "catalog.writer",
        "storage.pack",
        "dicom.header",
        "api.app",
        "cli.main",
    ):
        assert importlib.import_module(f"ria.{name}").__name__ == f"ria.{name}"


def test_library_logger_is_silent_by_default() -> None:
    handlers = logging.getLogger("ria").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)
