"""``ria import-idc`` as a user runs it: a real process, its report, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

RIA = [sys.executable, "-c", "from ria.cli.main import main; main()"]


def ria(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RIA, *args], capture_output=True, text=True, timeout=300)


def db_args(data_dir: Path, database_url: str | None) -> list[str]:
    return ["--data-dir", str(data_dir)] + (["--database-url", database_url] if database_url else [])


def test_import_prints_json_and_reruns_idempotently(
    tmp_path: Path, database_url: str | None, idc: duckdb.DuckDBPyConnection
) -> None:
    expected = dict(
        idc.execute(
            "SELECT collection_id, count(*) FROM idc "
            "WHERE collection_id IN ('tcga_chol', 'tcga_ucs') GROUP BY 1"
        ).fetchall()
    )
    args = [
        "import-idc",
        "--collection",
        "TCGA-CHOL",
        "-c",
        "tcga_ucs",
        "--json",
        *db_args(tmp_path, database_url),
    ]
    first = ria(*args)
    assert first.returncode == 0, first.stderr
    body = json.loads(first.stdout)
    assert {c["idc_id"]: c["series_added"] for c in body["collections"]} == expected
    assert body["totals"]["series_added"] == sum(expected.values())
    assert body["index_version"]

    again = ria(*args)
    assert json.loads(again.stdout)["totals"]["series_unchanged"] == sum(expected.values())

    listing = ria("collections", "list", "--json", *db_args(tmp_path, database_url))
    assert {row["name"]: row["series"] for row in json.loads(listing.stdout)} == {
        "TCGA-CHOL": expected["tcga_chol"],
        "TCGA-UCS": expected["tcga_ucs"],
    }


def test_plain_output_and_errors(tmp_path: Path) -> None:
    plain = ria("import-idc", "-c", "tcga_chol", "--data-dir", str(tmp_path))
    assert plain.returncode == 0, plain.stderr
    assert "series added" in plain.stdout and "TCGA-CHOL:" in plain.stdout

    unknown = ria("import-idc", "-c", "TCGA-CHLO", "--data-dir", str(tmp_path))
    assert unknown.returncode == 2
    assert "TCGA-CHLO" in unknown.stderr and "TCGA-CHOL" in unknown.stderr

    missing = ria("import-idc", "--parquet", str(tmp_path / "absent.parquet"), "--data-dir", str(tmp_path))
    assert missing.returncode == 2
    assert "absent.parquet" in missing.stderr
