"""The real IDC index, read independently (duckdb) to compute what an import must produce."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import idc_index_data
import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def parquet() -> Path:
    path = idc_index_data.IDC_INDEX_PARQUET_FILEPATH
    assert path is not None, "idc-index-data ships no parquet"
    return Path(path)


@pytest.fixture(scope="session")
def idc(parquet: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A duckdb connection with the index as view ``idc``."""
    conn = duckdb.connect()
    conn.execute(f"CREATE VIEW idc AS SELECT * FROM read_parquet('{parquet}')")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def tcga_collections() -> dict[str, dict[str, str]]:
    """``/work/shared/data/tcga-collections.csv`` (TCIA's list: cancer type, DOI) by collection name."""
    candidates = [
        os.environ.get("RIA_TCGA_COLLECTIONS"),
        ROOT.parent / "shared/data/tcga-collections.csv",
        "/work/shared/data/tcga-collections.csv",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            with Path(candidate).open(newline="") as handle:
                return {row["collection"]: row for row in csv.DictReader(handle)}
    pytest.fail("tcga-collections.csv is missing: set RIA_TCGA_COLLECTIONS to its path")
