"""Clinical imports on the real shared tables: biotab, follow-ups, survival, GDC sample metadata, GDC JSON."""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ria.archive import Archive
from ria.catalog.schema import clinical
from ria.genomics import import_file, readers
from tests.conftest import gunzipped_text
from tests.genomics.conftest import count, read_csv, rows

FACTS = (
    "participant",
    "project",
    "vital_status",
    "days_to_death",
    "days_to_last_follow_up",
    "sex",
    "race",
    "ethnicity",
    "age_at_diagnosis",
    "primary_diagnosis",
    "ajcc_pathologic_stage",
)


def stored(archive: Archive, source_id: int | None = None) -> dict[str, dict[str, Any]]:
    with archive.engine.connect() as conn:
        query = clinical.select()
        if source_id is not None:
            query = query.where(clinical.c.source_id == source_id)
        return {r["participant"]: {k: r[k] for k in FACTS} for r in conn.execute(query).mappings()}


def biotab(path: Path) -> list[dict[str, str]]:
    """Data rows of a biotab: the header, then (skipped here) the names row and the CDE_ID row."""
    with gzip.open(path, "rt", newline="") as handle:
        table = list(csv.DictReader(handle, delimiter="\t"))
    assert table[1]["bcr_patient_uuid"].startswith("CDE_ID:")
    return table[2:]


def number(value: str) -> int | None:
    return int(value) if value.lstrip("-").isdigit() else None


def known(value: str) -> str | None:
    return None if value.startswith("[") else value


def test_biotab_patient_table(archive: Archive, tcga_data: Path) -> None:
    table = biotab(tcga_data / "tcga_coad_biotab_clinical_patient_coad.tsv.gz")
    report = import_file(archive, tcga_data / "tcga_coad_biotab_clinical_patient_coad.tsv.gz")
    assert (report.kind, report.rows_read, report.rows_stored, report.rows_rejected) == (
        "clinical",
        len(table),
        len(table),
        0,
    )
    expected = {}
    for r in table:
        birth, years = number(r["birth_days_to"]), number(r["age_at_initial_pathologic_diagnosis"])
        age = -birth if birth is not None else (round(years * 365.25) if years is not None else None)
        race, ethnicity = known(r["race"]), known(r["ethnicity"])
        expected[r["bcr_patient_barcode"]] = {
            "participant": r["bcr_patient_barcode"],
            "project": None,
            "vital_status": known(r["vital_status"]),
            "days_to_death": number(r["death_days_to"]),
            "days_to_last_follow_up": number(r["last_contact_days_to"]),
            "sex": r["gender"].lower(),
            "race": race and race.lower(),
            "ethnicity": ethnicity and ethnicity.lower(),
            "age_at_diagnosis": age,
            "primary_diagnosis": known(r["histologic_diagnosis"]),
            "ajcc_pathologic_stage": known(r["ajcc_pathologic_tumor_stage"]),
        }
    assert stored(archive) == expected


def test_follow_ups_merge_per_participant(archive: Archive, tcga_data: Path) -> None:
    """Several follow-ups per patient: Dead wins, the largest day counts win."""
    table = biotab(tcga_data / "tcga_coad_biotab_clinical_follow_up_v1.0_coad.tsv.gz")
    report = import_file(archive, tcga_data / "tcga_coad_biotab_clinical_follow_up_v1.0_coad.tsv.gz")
    people: dict[str, list[dict[str, str]]] = {}
    for r in table:
        people.setdefault(r["bcr_patient_barcode"], []).append(r)
    assert (report.rows_read, report.rows_stored, report.participants) == (
        len(table),
        len(table),
        len(people),
    )
    assert count(archive, clinical) == len(people)
    facts = stored(archive)
    for participant, follow_ups in people.items():
        statuses = {r["vital_status"] for r in follow_ups}
        vital = "Dead" if "Dead" in statuses else "Alive" if "Alive" in statuses else None
        deaths = [n for r in follow_ups if (n := number(r["death_days_to"])) is not None]
        contacts = [n for r in follow_ups if (n := number(r["last_contact_days_to"])) is not None]
        got = facts[participant]
        assert (got["vital_status"], got["days_to_death"], got["days_to_last_follow_up"]) == (
            vital,
            max(deaths, default=None),
            max(contacts, default=None),
        )


def test_survival_table(archive: Archive, tcga_data: Path) -> None:
    table = read_csv(tcga_data / "tcga_brca_ov_survival.csv.gz")
    report = import_file(archive, tcga_data / "tcga_brca_ov_survival.csv.gz")
    assert (report.rows_stored, report.projects) == (len(table), ["TCGA-BRCA", "TCGA-OV"])
    expected = {}
    for r in table:
        dead = float(r["patient.vital_status"]) == 1
        days = round(float(r["times"]))
        expected[r["bcr_patient_barcode"]] = (
            "TCGA-" + r["admin.disease_code"].upper(),
            "Dead" if dead else "Alive",
            days if dead else None,
            None if dead else days,
        )
    got = {
        p: (f["project"], f["vital_status"], f["days_to_death"], f["days_to_last_follow_up"])
        for p, f in stored(archive).items()
    }
    assert got == expected


def coldata(tcga_data: Path) -> pd.DataFrame:
    return pd.read_csv(tcga_data / "tcga_gbm_coldata_gbm.exp.harmonized.csv.gz", dtype=str)


def days(value: Any) -> int | None:
    return None if pd.isna(value) else round(float(value))


def test_gdc_sample_metadata(archive: Archive, tcga_data: Path) -> None:
    frame = coldata(tcga_data)
    report = import_file(archive, tcga_data / "tcga_gbm_coldata_gbm.exp.harmonized.csv.gz")
    assert (report.rows_read, report.participants, report.projects) == (
        len(frame),
        frame["patient"].nunique(),
        sorted(set(frame["project_id"])),
    )
    facts = stored(archive)
    for _, r in frame.iterrows():
        got = facts[r["patient"]]
        assert got["vital_status"] == r["vital_status"].capitalize()
        assert (got["days_to_death"], got["days_to_last_follow_up"], got["age_at_diagnosis"]) == (
            days(r["days_to_death"]),
            days(r["days_to_last_follow_up"]),
            days(r["age_at_diagnosis"]),
        )
        assert (got["sex"], got["race"], got["project"]) == (r["gender"], r["race"], r["project_id"])
        assert got["ajcc_pathologic_stage"] is None  # "not reported"


def gdc_cases(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The real GBM rows re-shaped as GDC clinical JSON (cases with nested entities)."""

    def value(v: Any) -> Any:
        if pd.isna(v):
            return None
        try:
            number = float(v)
        except ValueError:
            return v
        return number if math.isfinite(number) else v

    cases = []
    for _, r in frame.iterrows():
        demographic = {
            k: value(r[k]) for k in ("vital_status", "days_to_death", "gender", "race", "ethnicity")
        }
        diagnosis = {
            k: value(r[k])
            for k in ("age_at_diagnosis", "primary_diagnosis", "tumor_stage", "days_to_last_follow_up")
        }
        cases.append(
            {
                "submitter_id": r["patient"],
                "project": {"project_id": r["project_id"]},
                "demographic": demographic,
                "diagnoses": [diagnosis],
                "follow_ups": [],
            }
        )
    return cases


def test_gdc_json_matches_the_table(
    archive: Archive, tcga_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_CHUNK", 16)  # decode across many buffer boundaries
    path = tmp_path / "clinical.cases_selection.json"
    path.write_text(json.dumps(gdc_cases(coldata(tcga_data)), indent=1))
    from_json = import_file(archive, path)
    from_table = import_file(archive, tcga_data / "tcga_gbm_coldata_gbm.exp.harmonized.csv.gz")
    assert (from_json.kind, from_json.rows_read, from_json.rows_rejected) == ("clinical", 2, 0)
    assert stored(archive, from_json.source_id) == stored(archive, from_table.source_id)


def test_unknown_vital_status_is_rejected_with_its_line(
    archive: Archive, tcga_data: Path, tmp_path: Path
) -> None:
    lines = gunzipped_text(tcga_data / "tcga_brca_ov_survival.csv.gz").splitlines(keepends=True)
    fields = lines[9].split(",")
    fields[2] = "2.0"
    lines[9] = ",".join(fields)
    damaged = tmp_path / "survival.csv"
    damaged.write_text("".join(lines))
    report = import_file(archive, damaged)
    assert (report.rows_rejected, report.rows_stored) == (1, len(lines) - 2)
    assert report.rejects == ["line 10: vital_status '2.0' is not Alive/Dead (or LIVING/DECEASED, 0/1)"]
    assert fields[1] not in {p for (p,) in rows(archive, clinical, "participant")}
