"""``ria cohort`` and ``ria linkage`` tables for pipes (TSV) and for people (a terminal of fixed width).

The archive is the real radiogenomic one of :mod:`tests.cohort.conftest`; expected values come from
:mod:`tests.cohort.truth` (pandas/DuckDB over the source tables), not from Ria.
"""

from __future__ import annotations

import csv
import io
import re

from tests.cli.test_cli import RIA, db_args, ria
from tests.cli.test_tables import run_in_terminal
from tests.cohort.conftest import Radiogenomic
from tests.cohort.truth import Truth


def _args(radiogenomic: Radiogenomic) -> list[str]:
    return db_args(radiogenomic.settings.data_dir, radiogenomic.settings.database_url)


def test_piped_patients_view_is_tsv_with_every_column(radiogenomic: Radiogenomic, truth: Truth) -> None:
    """Stdout is a pipe: TSV with a header, one row per patient, the full 19-odd columns, nothing cut."""
    result = ria("cohort", "-c", "TCGA-LUAD", "-c", "TCGA-LUSC", "-m", "CT", "--mutated", "TP53",
                 "--view", "patients", *_args(radiogenomic))  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter="\t"))
    expected = truth.patients_of(["TCGA-LUAD", "TCGA-LUSC"], "CT") & truth.carriers("TP53")
    assert expected
    assert {r["PatientID"] for r in rows} == expected
    assert len(rows) == len(expected)
    assert rows[0] and len(rows[0]) > 10
    assert "…" not in result.stdout
    assert all(re.fullmatch(r"TCGA-\w\w-\w{4}", r["PatientID"]) for r in rows)


def test_piped_linkage_is_two_tsv_tables(radiogenomic: Radiogenomic, truth: Truth) -> None:
    """Collections, then projects after a blank line; names and barcodes whole (no ``colle…``/``TCGA-…``)."""
    result = ria("linkage", "-c", "TCGA-BRCA", "-c", "TCGA-OV", *_args(radiogenomic))
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("\n\n")
    collections = list(csv.DictReader(io.StringIO(first), delimiter="\t"))
    described = set(truth.survival().participant)
    assert {r["collection"] for r in collections} == {"TCGA-BRCA", "TCGA-OV"}
    for row in collections:
        imaged = truth.patients_of([row["collection"]])
        assert int(row["imaging patients"]) == len(imaged)
        assert int(row["clinical"]) == len(imaged & described)
    projects = list(csv.DictReader(io.StringIO(second), delimiter="\t"))
    assert projects and all(int(p["participants"]) >= int(p["with imaging"]) for p in projects)
    for project in projects:
        shown = [b for b in project["first without imaging (--json lists all)"].split(", ") if b]
        assert all(re.fullmatch(r"TCGA-\w\w-\w{4}( and \d+ more)?", b) for b in shown)
    assert "…" not in result.stdout


def test_terminal_patients_view_wraps_and_never_truncates(radiogenomic: Radiogenomic, truth: Truth) -> None:
    """Only columns with values; a table where they fit (100 columns), a block per patient where not (50)."""
    args = ["cohort", "-c", "TCGA-LUAD", "-m", "CT", "--mutated", "KRAS", "--view", "patients"]
    expected = truth.patients_of(["TCGA-LUAD"], "CT") & truth.carriers("KRAS")
    assert expected
    piped = list(csv.DictReader(io.StringIO(ria(*args, *_args(radiogenomic)).stdout), delimiter="\t"))
    empty = [column for column in piped[0] if not any(row[column] for row in piped)]
    assert empty  # the clinical fields LUAD's tables do not fill
    wide = run_in_terminal([*RIA, *args, *_args(radiogenomic)], columns=100)
    assert "…" not in wide and all(len(line) <= 100 for line in wide.splitlines())
    assert set(re.findall(r"│ (TCGA-\w\w-\w{4}) +│", wide)) == expected
    assert not any(re.search(rf"\b{re.escape(column)}\b", wide) for column in empty)
    narrow = run_in_terminal([*RIA, *args, *_args(radiogenomic)], columns=50)
    assert "…" not in narrow and all(len(line) <= 50 for line in narrow.splitlines())
    found = set(re.findall(r"^PatientID\s+(TCGA-\w\w-\w{4})\s*$", narrow, flags=re.MULTILINE))
    assert found == expected, narrow[:3000]
    for row in piped:
        for column, value in row.items():
            if value:  # every value, whole, on its column's line
                line = rf"^{re.escape(column)}\s+{re.escape(value)}\s*$"
                assert re.search(line, narrow, re.MULTILINE), column


def test_terminal_linkage_table_keeps_identifiers_whole(radiogenomic: Radiogenomic) -> None:
    """A table that fits is a table; collection names and barcodes are never ellipsised."""
    shown = run_in_terminal([*RIA, "linkage", "-c", "TCGA-BRCA", *_args(radiogenomic)], columns=200)
    assert "…" not in shown
    assert "TCGA-BRCA" in shown
    assert re.search(r"TCGA-\w\w-\w{4}", shown)
