"""Helpers for the importer tests: catalogue counts and an archive holding real imaging patients."""

from __future__ import annotations

import csv
import gzip
import warnings
from pathlib import Path
from typing import Any, TextIO

import pydicom
import pytest
from sqlalchemy import Table, func, select

from ria.archive import Archive
from ria.catalog.schema import clinical as clinical_table
from ria.catalog.schema import genomic_source, label, label_field
from ria.catalog.schema import mutation as mutation_table
from ria.sample import write_demo_corpus

TABLES = (genomic_source, mutation_table, clinical_table, label, label_field)


def count(archive: Archive, table: Table) -> int:
    with archive.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def counts(archive: Archive) -> dict[str, int]:
    """Rows in every genomics table: what "nothing was written" is checked against."""
    return {table.name: count(archive, table) for table in TABLES}


def rows(archive: Archive, table: Table, *columns: str) -> list[tuple[Any, ...]]:
    with archive.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*(table.c[c] for c in columns)))]


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """The data rows by the csv module, ``#`` lines skipped: the test's own reading (gunzipped if ``.gz``)."""
    handle: TextIO
    with (
        gzip.open(path, "rt", newline="", encoding="utf-8")
        if path.suffix == ".gz"
        else path.open(newline="", encoding="utf-8")
    ) as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return list(csv.DictReader(lines, delimiter=delimiter))


@pytest.fixture
def imaging(archive: Archive, tmp_path: Path) -> dict[str, str]:
    """Ingest pydicom's real CT/MR files relabelled to real TCGA barcodes; patient → collection.

    The mapping is read back from the written files with pydicom, not taken from the generator.
    """
    corpus = write_demo_corpus(tmp_path / "corpus")
    filed: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for collection, folder in corpus.folders.items():
            for path in folder.rglob("*.dcm"):
                filed[str(pydicom.dcmread(path, stop_before_pixels=True).PatientID)] = collection
    for collection, folder in sorted(corpus.folders.items()):
        archive.ingest([folder], collection, workers=1, write_report=False)
    return filed
