"""PatientIDs that are not TCGA barcodes, filed in a TCGA collection, get a word (issue 16, item 3).

pydicom's own test files carry their scanners' PatientIDs (``1CT1``, ...), which is what a user
ingesting a folder of real scans into TCGA-LUAD would have: stored, but a warning in the summary,
the JSON report and the report file, a pointer to ``--id-map``, and with ``--strict`` exit 1.
The expected IDs are read with pydicom; both catalogues.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pydicom
import pytest

from ria.sample.corpus import find_test_file, write_demo_corpus
from tests.cli.test_cli import db_args, ria

FILES = ("CT_small.dcm", "MR_small.dcm")


@pytest.fixture
def scans(tmp_path: Path) -> tuple[Path, set[str]]:
    """A folder of real scans as their scanners wrote them, and their PatientIDs (pydicom)."""
    folder = tmp_path / "scans"
    folder.mkdir()
    ids = set()
    for name in FILES:
        source = find_test_file(name)
        shutil.copy(source, folder / name)
        ids.add(str(pydicom.dcmread(source, stop_before_pixels=True).PatientID))
    return folder, ids


def test_non_barcodes_in_a_tcga_collection_are_a_warning(
    tmp_path: Path, scans: tuple[Path, set[str]], database_url: str | None
) -> None:
    folder, ids = scans
    # The premise, by the GDC's participant pattern: none of them is a barcode.
    assert not any(re.fullmatch(r"TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}", pid) for pid in ids)
    args = db_args(tmp_path / "data", database_url)
    plain = ria("ingest", str(folder), "-c", "TCGA-LUAD", *args)
    assert plain.returncode == 0, plain.stderr
    warning = [line for line in plain.stdout.splitlines() if line.strip().startswith("warning:")]
    assert len(warning) == 1, plain.stdout
    assert f"{len(ids)} PatientIDs in TCGA-LUAD are not TCGA participant barcodes" in warning[0]
    assert all(pid in warning[0] for pid in ids) and "--id-map" in warning[0]

    again = ria("ingest", str(folder), "-c", "TCGA-LUAD", "--json", "--strict", *args)
    assert again.returncode == 1, again.stdout + again.stderr  # duplicates now, still their IDs
    body = json.loads(again.stdout)
    assert body["duplicate"] == len(FILES) and body["rejected"] == 0
    assert {entry["patient_id"] for entry in body["not_tcga_barcodes"]} == ids
    assert len(body["warnings"]) == 1 and "--id-map" in body["warnings"][0]
    lines = [json.loads(line) for line in Path(body["report"]).read_text().splitlines()]
    assert [line["warning"] for line in lines if "warning" in line] == body["warnings"]


def test_barcodes_and_other_collections_say_nothing(tmp_path: Path, scans: tuple[Path, set[str]]) -> None:
    folder, _ = scans
    args = ["--data-dir", str(tmp_path / "data")]
    other = ria("ingest", str(folder), "-c", "CQ500", "--strict", "--json", *args)
    assert other.returncode == 0, other.stdout + other.stderr
    assert json.loads(other.stdout)["warnings"] == []
    demo = write_demo_corpus(tmp_path / "demo").folders["TCGA-LUAD"]
    barcoded = ria("ingest", str(demo), "-c", "TCGA-LUAD", "--strict", *args)
    assert barcoded.returncode == 0, barcoded.stdout + barcoded.stderr
    assert "warning" not in barcoded.stdout


def test_the_id_map_it_points_to_silences_it(tmp_path: Path, scans: tuple[Path, set[str]]) -> None:
    folder, ids = scans
    id_map = tmp_path / "ids.csv"
    targets = ["TCGA-05-4244", "TCGA-05-4249"]
    rows = [f"{pid},{target}" for pid, target in zip(sorted(ids), targets, strict=False)]
    id_map.write_text("source_patient_id,target_patient_id\n" + "\n".join(rows) + "\n")
    result = ria(
        "ingest", str(folder), "-c", "TCGA-LUAD", "--deidentify", "basic", "--id-map", str(id_map),
        "--strict", "--json", "--data-dir", str(tmp_path / "data"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert (body["ingested"], body["warnings"]) == (len(FILES), [])
