"""``ria genomics import`` / ``sources`` as a user runs them: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import db_args, ria
from tests.conftest import gunzipped_text
from tests.genomics.conftest import read_csv


def test_import_and_list_sources(tmp_path: Path, tcga_data: Path, database_url: str | None) -> None:
    files = [tcga_data / "lung_patients.csv.gz", tcga_data / "tcga_luad_6patients.maf.gz"]
    result = ria("genomics", "import", *map(str, files), "--json", *db_args(tmp_path, database_url))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["failed"] == []
    maf_lines = sum(1 for line in gunzipped_text(files[1]).splitlines()[1:] if not line.startswith("#"))
    assert [(r["name"], r["kind"], r["rows_stored"]) for r in body["imported"]] == [
        ("lung_patients.csv.gz", "labels", len(read_csv(files[0]))),  # a source is named as its file
        ("tcga_luad_6patients.maf.gz", "maf", maf_lines),
    ]
    listing = ria("genomics", "sources", "--json", *db_args(tmp_path, database_url))
    assert listing.returncode == 0, listing.stderr
    assert [(s["id"], s["sha256"]) for s in json.loads(listing.stdout)] == [
        (r["source_id"], r["sha256"]) for r in body["imported"]
    ]
    table = ria("genomics", "sources", *db_args(tmp_path, database_url))
    assert table.stdout.splitlines()[0].split("\t")[:3] == ["id", "kind", "name"]
    assert len(table.stdout.splitlines()) == 3


def test_summary_and_rejects_are_printed(tmp_path: Path, tcga_data: Path) -> None:
    lines = gunzipped_text(tcga_data / "lung_mutations_by_gene.csv.gz").splitlines(keepends=True)
    lines[3] = lines[3].replace("TCGA-", "TCGX-", 1)
    damaged = tmp_path / "mutations.csv"
    damaged.write_text("".join(lines))
    result = ria("genomics", "import", str(damaged), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert f"mutations.csv (mutations): {len(lines) - 1} read, {len(lines) - 2} stored" in result.stdout
    assert "rejected: line 4: patient 'TCGX-" in result.stdout
    assert "project 'TCGX' must be TCGA" in result.stdout


def test_a_broken_file_fails_alone_with_exit_1(tmp_path: Path, tcga_data: Path) -> None:
    packed = (tcga_data / "lung_patients.csv.gz").read_bytes()
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(packed[:-20])
    args = ["--data-dir", str(tmp_path / "data")]
    result = ria("genomics", "import", str(broken), str(tcga_data / "tcga_glioma_idh_status.csv.gz"), *args)
    assert result.returncode == 1
    assert "error: broken.csv.gz: damaged or truncated gzip" in result.stderr
    listing = json.loads(ria("genomics", "sources", "--json", *args).stdout)
    assert [s["name"] for s in listing] == ["tcga_glioma_idh_status.csv.gz"]


def test_bad_usage_is_exit_2_before_anything_is_imported(tmp_path: Path, tcga_data: Path) -> None:
    args = ["--data-dir", str(tmp_path / "data")]
    good = str(tcga_data / "lung_patients.csv.gz")
    for extra, message in (
        (["--kind", "vcf"], "unknown kind 'vcf'"),
        (["--project", "TCGA LUAD"], "project 'TCGA LUAD'"),
        ([str(tmp_path / "absent.csv")], "absent.csv: no such file"),
    ):
        result = ria("genomics", "import", good, *extra, *args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert result.stderr.startswith("error: ")
    sources = ria("genomics", "sources", "--json", *args)  # not even an archive was created
    assert sources.returncode == 1 and "no Ria archive at" in sources.stderr, sources.stdout
