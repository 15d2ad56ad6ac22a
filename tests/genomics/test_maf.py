"""MAF and mutation-table imports on the real shared files, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from ria.archive import Archive
from ria.catalog.schema import genomic_source, mutation
from ria.errors import InvalidParameterError
from ria.genomics import import_file, sources
from tests.conftest import gunzipped_text
from tests.genomics.conftest import count, counts, read_csv, rows

MAFS = ["tcga_luad_6patients.maf.gz", "tcga_lusc_1sample.maf.gz", "tcga_chol_bcgsc_hg19.maf.gz"]


def maf_frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False, low_memory=False)


def optional_int(frame: pd.DataFrame, column: str) -> list[int | None]:
    if column not in frame.columns:
        return [None] * len(frame)
    return [int(v) if v not in ("", ".") else None for v in frame[column]]


@pytest.mark.parametrize("name", MAFS)
def test_maf_imports_every_variant(archive: Archive, tcga_data: Path, name: str) -> None:
    frame = maf_frame(tcga_data / name)
    report = import_file(archive, tcga_data / name)
    participants = {b[:12] for b in frame["Tumor_Sample_Barcode"]}
    assert (report.kind, report.rows_read, report.rows_stored, report.rows_rejected) == (
        "maf",
        len(frame),
        len(frame),
        0,
    )
    assert (report.rows_unmatched, report.rows_linked, report.participants) == (
        len(frame),
        0,
        len(participants),
    )
    stored = rows(
        archive,
        mutation,
        "participant",
        "sample_barcode",
        "hugo_symbol",
        "variant_classification",
        "start_position",
        "t_depth",
        "t_alt_count",
        "hgvsp_short",
        "ncbi_build",
    )
    hgvsp = (
        list(frame["HGVSp_Short"].replace("", None))
        if "HGVSp_Short" in frame.columns
        else [None] * len(frame)
    )
    expected = zip(
        (b[:12] for b in frame["Tumor_Sample_Barcode"]),
        frame["Tumor_Sample_Barcode"],
        frame["Hugo_Symbol"],
        frame["Variant_Classification"],
        (int(v) for v in frame["Start_Position"]),
        optional_int(frame, "t_depth"),
        optional_int(frame, "t_alt_count"),
        hgvsp,
        frame["NCBI_Build"],
        strict=True,
    )
    assert Counter(stored) == Counter(expected)


def test_reimport_replaces_the_source(archive: Archive, tcga_data: Path) -> None:
    first = import_file(archive, tcga_data / "tcga_luad_6patients.maf.gz")
    second = import_file(archive, tcga_data / "tcga_luad_6patients.maf.gz")
    assert (first.replaced, second.replaced) == (False, True)
    assert second.rows_stored == first.rows_stored == count(archive, mutation)
    assert [s.sha256 for s in sources(archive)] == [first.sha256]
    assert count(archive, genomic_source) == 1


def test_gzip_is_sniffed_and_is_the_same_source(archive: Archive, tcga_data: Path, tmp_path: Path) -> None:
    shipped = tcga_data / "tcga_lusc_1sample.maf.gz"
    packed = tmp_path / "luad.maf.txt"  # the name does not say gzip: the magic bytes do
    shutil.copyfile(shipped, packed)
    plain = tmp_path / "luad.maf"
    with gzip.open(shipped, "rb") as source, plain.open("wb") as out:
        shutil.copyfileobj(source, out)
    zipped = import_file(archive, packed)
    again = import_file(archive, plain)
    assert zipped.rows_stored == len(maf_frame(tcga_data / "tcga_lusc_1sample.maf.gz"))
    assert (zipped.sha256, again.replaced, count(archive, genomic_source)) == (again.sha256, True, 1)


def test_bad_barcode_row_is_rejected_with_its_line(archive: Archive, tcga_data: Path, tmp_path: Path) -> None:
    lines = gunzipped_text(tcga_data / "tcga_luad_6patients.maf.gz").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    target = header + 17
    good = lines[target].split("\t")[15]
    bad = good[:8] + "X!" + good[10:]  # the participant's first two characters become "X!"
    lines[target] = lines[target].replace(good, bad, 1)
    damaged = tmp_path / "damaged.maf"
    damaged.write_text("".join(lines))
    report = import_file(archive, damaged)
    data_lines = len(lines) - header - 1
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (data_lines, data_lines - 1, 1)
    assert report.rejects == [
        f"line {target + 1}: Tumor_Sample_Barcode {bad!r}: "
        f"{bad}: participant {bad[8:12]!r} must be 4 letters or digits"
    ]
    assert count(archive, mutation) == data_lines - 1


def test_imaging_patients_are_linked_and_give_the_project(
    archive: Archive, tcga_data: Path, imaging: dict[str, str]
) -> None:
    frame = maf_frame(tcga_data / "tcga_luad_6patients.maf.gz")
    participants = [b[:12] for b in frame["Tumor_Sample_Barcode"]]
    linked = [p for p in participants if p in imaging]
    assert linked, "the demo barcodes are real LUAD patients of this MAF"
    report = import_file(archive, tcga_data / "tcga_luad_6patients.maf.gz")
    assert (report.rows_linked, report.rows_unmatched) == (len(linked), len(participants) - len(linked))
    assert report.participants_linked == len(set(linked))
    by_project = Counter(project for _, project in rows(archive, mutation, "participant", "project"))
    assert by_project == Counter(imaging.get(p) for p in participants)


def test_explicit_project_wins(archive: Archive, tcga_data: Path) -> None:
    report = import_file(archive, tcga_data / "tcga_chol_bcgsc_hg19.maf.gz", project="TCGA-CHOL")
    assert report.projects == ["TCGA-CHOL"]
    assert {p for (p,) in rows(archive, mutation, "project")} == {"TCGA-CHOL"}
    assert [s.project for s in sources(archive)] == ["TCGA-CHOL"]


def test_mutation_table(archive: Archive, tcga_data: Path) -> None:
    table = read_csv(tcga_data / "lung_mutations_by_gene.csv.gz")
    report = import_file(archive, tcga_data / "lung_mutations_by_gene.csv.gz")
    assert (report.kind, report.rows_read, report.rows_stored) == ("mutations", len(table), len(table))
    assert report.participants == len({r["patient"] for r in table})
    stored = rows(archive, mutation, "participant", "hugo_symbol", "variant_classification", "sample_barcode")
    assert Counter(stored) == Counter(
        (r["patient"], r["gene"], r["variant_classification"], None) for r in table
    )


def test_a_file_failing_midway_leaves_nothing(archive: Archive, tcga_data: Path, tmp_path: Path) -> None:
    """A stray quote after the first batch makes the rest one oversized CSV field: all is rolled back."""
    import_file(archive, tcga_data / "tcga_lusc_1sample.maf.gz")
    before = counts(archive)
    lines = gunzipped_text(tcga_data / "lung_mutations_by_gene.csv.gz").splitlines(keepends=True)
    lines[6001] = '"' + lines[6001]
    broken = tmp_path / "broken.csv"
    broken.write_text("".join(lines))
    with pytest.raises(InvalidParameterError, match=r"broken\.csv: line \d+: field larger than field limit"):
        import_file(archive, broken, kind="mutations")
    assert counts(archive) == before
