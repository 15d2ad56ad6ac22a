"""Recognising and reading files: kind detection, gzip, biotab header rows, refusals that write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ria.archive import Archive
from ria.errors import InvalidParameterError
from ria.genomics import detect_kind, import_file, sources
from ria.genomics.readers import open_table
from tests.conftest import gunzipped_text
from tests.genomics.conftest import counts

KINDS = {
    "tcga_luad_6patients.maf.gz": "maf",
    "tcga_lusc_1sample.maf.gz": "maf",
    "tcga_chol_bcgsc_hg19.maf.gz": "maf",
    "lung_mutations_by_gene.csv.gz": "mutations",
    "tcga_brca_ov_survival.csv.gz": "clinical",
    "tcga_coad_biotab_clinical_patient_coad.tsv.gz": "clinical",
    "tcga_coad_biotab_clinical_follow_up_v1.0_coad.tsv.gz": "clinical",
    "tcga_gbm_coldata_gbm.exp.harmonized.csv.gz": "clinical",
    "lung_patients.csv.gz": "labels",
    "tcga_glioma_idh_status.csv.gz": "labels",
    "tcga_subtypes.csv.gz": "labels",
}


@pytest.mark.parametrize(("name", "kind"), sorted(KINDS.items()))
def test_kind_is_recognised_from_content(tcga_data: Path, name: str, kind: str) -> None:
    assert detect_kind(tcga_data / name) == kind


def test_every_shared_table_is_covered(tcga_data: Path) -> None:
    assert {p.name for p in tcga_data.iterdir() if p.name != "README.md"} == set(KINDS)


def test_biotab_extra_header_rows_are_skipped(tcga_data: Path) -> None:
    path = tcga_data / "tcga_coad_biotab_clinical_patient_coad.tsv.gz"
    lines = gunzipped_text(path).splitlines()
    with open_table(path) as table:
        found = list(table.rows)
    assert len(found) == len(lines) - 3
    assert found[0].line == 4
    assert found[0].cells["bcr_patient_barcode"] == lines[3].split("\t")[1]


def test_multiline_csv_cells_keep_line_numbers(tcga_data: Path) -> None:
    """The GBM metadata quotes multi-line cells: a row's number is the line it ends on, like an editor's."""
    path = tcga_data / "tcga_gbm_coldata_gbm.exp.harmonized.csv.gz"
    lines = gunzipped_text(path).splitlines()
    with open_table(path) as table:
        found = list(table.rows)
    assert [r.problem for r in found] == [None, None]
    assert found[-1].line == len(lines)
    assert found[0].cells["patient"] == lines[1].split(",")[0]


def test_truncated_gzip_writes_nothing(archive: Archive, tcga_data: Path, tmp_path: Path) -> None:
    packed = (tcga_data / "lung_patients.csv.gz").read_bytes()
    truncated = tmp_path / "lung_patients.csv.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InvalidParameterError, match=r"lung_patients\.csv\.gz: damaged or truncated gzip"):
        import_file(archive, truncated)
    assert counts(archive) == dict.fromkeys(counts(archive), 0)
    assert sources(archive) == []


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [({"kind": "vcf"}, "kind"), ({"project": "TCGA LUAD"}, "project")],
)
def test_bad_arguments(archive: Archive, tcga_data: Path, kwargs: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        import_file(archive, tcga_data / "lung_patients.csv.gz", **kwargs)
    assert caught.value.parameter == parameter


def test_missing_file(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="no such file"):
        import_file(archive, tmp_path / "absent.maf")


def test_maf_without_tumour_barcodes(archive: Archive, tcga_data: Path, tmp_path: Path) -> None:
    lines = gunzipped_text(tcga_data / "tcga_lusc_1sample.maf.gz").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines[header] = lines[header].replace("Tumor_Sample_Barcode", "Sample")
    renamed = tmp_path / "renamed.maf"
    renamed.write_text("".join(lines))
    with pytest.raises(InvalidParameterError, match="not a MAF: no tumor_sample_barcode column"):
        import_file(archive, renamed, kind="maf")
    assert counts(archive) == dict.fromkeys(counts(archive), 0)
