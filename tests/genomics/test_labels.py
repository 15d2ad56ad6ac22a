"""Label tables on the real shared files: long-format values, typed fields, projects from study codes."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest

from ria.archive import Archive
from ria.catalog.schema import genomic_source, label, label_field
from ria.errors import InvalidParameterError
from ria.genomics import import_file
from tests.genomics.conftest import count, counts, read_csv, rows

R_MISSING = ("", "NA")
"""What R's write.csv leaves for a missing value (the glioma table has both)."""


def finite(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


@pytest.mark.parametrize(
    ("name", "barcode"),
    [
        ("tcga_glioma_idh_status.csv.gz", "bcr_patient_barcode"),
        ("lung_patients.csv.gz", "patient"),
        ("tcga_subtypes.csv.gz", "samples"),
    ],
)
def test_labels_are_stored_long_and_typed(archive: Archive, tcga_data: Path, name: str, barcode: str) -> None:
    table = read_csv(tcga_data / name)
    names = [c for c in table[0] if c != barcode]
    report = import_file(archive, tcga_data / name)
    assert (report.kind, report.rows_read, report.rows_stored, report.rows_rejected) == (
        "labels",
        len(table),
        len(table),
        0,
    )
    assert report.participants == len({r[barcode][:12] for r in table})
    types = {
        column: "number" if values and all(finite(v) for v in values) else "text"
        for column in names
        for values in [[r[column] for r in table if r[column] not in R_MISSING]]
    }
    assert dict(rows(archive, label_field, "name", "value_type")) == types
    expected = Counter(
        (r[barcode][:12], c, r[c], float(r[c]) if types[c] == "number" else None)
        for r in table
        for c in names
        if r[c] not in R_MISSING
    )
    assert Counter(rows(archive, label, "participant", "name", "value_text", "value_number")) == expected


def test_projects_come_from_study_codes(archive: Archive, tcga_data: Path) -> None:
    """``LUAD`` (lung_patients) and ``BRCA.LumA``-style subtypes name the project; Not_Applicable does not."""
    import_file(archive, tcga_data / "tcga_subtypes.csv.gz")
    table = read_csv(tcga_data / "tcga_subtypes.csv.gz")
    expected = {}
    for r in table:
        code = r["subtype"].split(".")[0]
        expected[r["samples"]] = None if code == "Not_Applicable" else f"TCGA-{code}"
    assert dict(rows(archive, label, "participant", "project")) == expected


def test_reimport_is_idempotent(archive: Archive, tcga_data: Path) -> None:
    first = import_file(archive, tcga_data / "lung_patients.csv.gz")
    before = counts(archive)
    second = import_file(archive, tcga_data / "lung_patients.csv.gz")
    assert counts(archive) == before
    assert (count(archive, genomic_source), second.replaced, second.rows_stored) == (
        1,
        True,
        first.rows_stored,
    )


def test_a_table_without_a_barcode_column_is_refused(
    archive: Archive, tcga_data: Path, tmp_path: Path
) -> None:
    table = read_csv(tcga_data / "lung_patients.csv.gz")
    headless = tmp_path / "no_barcode.csv"
    with headless.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mutations_count", "subtype"])
        writer.writerows([r["mutations_count"], r["subtype"]] for r in table)
    with pytest.raises(
        InvalidParameterError, match=r"no_barcode\.csv: no barcode column .*bcr_patient_barcode"
    ):
        import_file(archive, headless, kind="labels")
    with pytest.raises(
        InvalidParameterError, match=r"cannot tell what this file holds.*Found: mutations_count"
    ):
        import_file(archive, headless)
    assert counts(archive) == dict.fromkeys(counts(archive), 0)
