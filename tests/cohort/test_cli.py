"""``ria cohort``, ``ria survival``, ``ria linkage`` as a user runs them (real processes) on real data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.cli.test_cli import db_args, ria
from tests.cohort.conftest import Radiogenomic
from tests.cohort.truth import Truth


def _args(radiogenomic: Radiogenomic) -> list[str]:
    return db_args(radiogenomic.settings.data_dir, radiogenomic.settings.database_url)


def test_the_issue_example_prints_one_csv_row_per_series(radiogenomic: Radiogenomic, truth: Truth) -> None:
    result = ria(
        "cohort", "--collection", "TCGA-LUAD", "--modality", "CT", "--mutated", "KRAS", "--format", "csv",
        *_args(radiogenomic),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    expected = truth.uids(["TCGA-LUAD"], "CT", truth.carriers("KRAS"))
    order = [(r["Collection"], r["PatientID"], r["StudyInstanceUID"], r["SeriesInstanceUID"]) for r in rows]
    assert order == sorted(order)
    assert {r["SeriesInstanceUID"] for r in rows} == expected
    assert all(r["PatientID"] in truth.carriers("KRAS") for r in rows)


def test_patients_view_and_conditions(radiogenomic: Radiogenomic, truth: Truth, tmp_path: Path) -> None:
    out = tmp_path / "patients.csv"
    conditions = ["--clinical", "vital_status=Dead", "--clinical", "days_to_death<=1095"]
    result = ria(
        "cohort", "-c", "TCGA-OV", "-m", "CT", *conditions,
        "--view", "patients", "--format", "csv", "-o", str(out), *_args(radiogenomic),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    survival = truth.survival()
    died = set(survival[survival.dead & (survival.days <= 1095)].participant)
    assert {r["PatientID"] for r in rows} == truth.patients_of(["TCGA-OV"], "CT") & died
    assert all(r["vital_status"] == "Dead" and int(r["days_to_death"]) <= 1095 for r in rows)
    assert not list(tmp_path.glob("*.partial"))


def test_manifest_and_citation(radiogenomic: Radiogenomic) -> None:
    manifest = ria("cohort", "-c", "TCGA-LUAD", "--mutated", "KRAS", "--view", "manifest", "--format", "tcia",
                   *_args(radiogenomic))  # fmt: skip
    assert manifest.returncode == 0, manifest.stderr
    uids = manifest.stdout.splitlines()[6:]
    local = {s.series_instance_uid for s in radiogenomic.local if s.collection == "TCGA-LUAD"}
    assert uids and set(uids) <= local
    citation = ria(
        "cohort", "-c", "TCGA-LUAD", "--mutated", "KRAS", "--view", "citation", *_args(radiogenomic)
    )
    assert "DOI.ORG/10.7937/K9/TCIA.2016.JGNIHEP5" in citation.stdout.upper()
    assert "TCGA Research Network" in citation.stdout


def test_survival_writes_a_plot_and_prints_the_table(radiogenomic: Radiogenomic, tmp_path: Path) -> None:
    plot = tmp_path / "km.png"
    split = ["--split-by", "clinical:project"]
    result = ria(
        "survival", *split, "-c", "TCGA-OV", "-c", "TCGA-BRCA", "-o", str(plot), *_args(radiogenomic)
    )
    assert result.returncode == 0, result.stderr
    assert "log-rank p = " in result.stdout and "TCGA-OV" in result.stdout
    with Image.open(plot) as image:
        assert image.format == "PNG"
    curves = tmp_path / "km.json"
    ria(
        "survival", "--split-by", "clinical:project", "-c", "TCGA-OV", "-o", str(curves), *_args(radiogenomic)
    )
    assert [g["name"] for g in json.loads(curves.read_text())["groups"]] == ["TCGA-OV"]


def test_linkage_json(radiogenomic: Radiogenomic, truth: Truth) -> None:
    result = ria("linkage", "--json", "-c", "TCGA-BRCA", *_args(radiogenomic))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    brca = body["collections"][0]
    imaged = truth.patients_of(["TCGA-BRCA"])
    described = set(truth.survival().participant)
    assert brca["with_clinical"] == len(imaged & described)
    assert brca["with_neither"] == len(brca["unlinked_patients"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clinical", "survival<3"], "unknown clinical field 'survival'"),
        (["--mutated", "K RAS"], "is not a HUGO gene symbol"),
        (["--from", "yesterday"], "not a date"),
        (["--format", "tcia"], "--format tcia goes with --view manifest"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(radiogenomic: Radiogenomic, args: list[str], message: str) -> None:
    result = ria("cohort", *args, *_args(radiogenomic))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_saved_json_query_answers_like_the_options(radiogenomic: Radiogenomic, tmp_path: Path) -> None:
    """The HTTP body saved to a file runs the same from the shell; --format json echoes nothing else."""
    saved = tmp_path / "query.json"
    saved.write_text(json.dumps({"collection": ["TCGA-LUAD"], "modality": ["CT"], "mutated": ["KRAS"]}))
    by_file = ria("cohort", "--query", str(saved), "--format", "csv", *_args(radiogenomic))
    by_options = ria("cohort", "-c", "TCGA-LUAD", "-m", "CT", "--mutated", "KRAS", "--format", "csv",
                     *_args(radiogenomic))  # fmt: skip
    assert by_file.returncode == 0, by_file.stderr
    assert by_file.stdout == by_options.stdout and by_file.stdout.count("\n") > 1
    both = ria("cohort", "--query", str(saved), "-c", "TCGA-LUAD", *_args(radiogenomic))
    assert both.returncode == 2 and "either --query FILE or filter options" in both.stderr
    saved.write_text("{not json")
    broken = ria("cohort", "--query", str(saved), *_args(radiogenomic))
    assert broken.returncode == 2 and "is not JSON" in broken.stderr
