"""The real IDC index, read independently (duckdb) to compute what an import must produce."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import duckdb
import idc_index_data
import pytest

from tests.conftest import PACKAGED_COLLECTIONS


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
    """TCIA's list of TCGA collections (cancer type, DOI) by name: the copy the package ships.

    Read with the csv module from the repository's file, not through Ria's loader.
    """
    with PACKAGED_COLLECTIONS.open(newline="") as handle:
        return {row["collection"]: row for row in csv.DictReader(handle)}
