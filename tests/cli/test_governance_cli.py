"""``ria collections set/show/audit/seed-tcga``, ``ria accrual`` and ``ria cite`` as a user runs them."""

from __future__ import annotations

import csv
import getpass
import json
from pathlib import Path

from ria.sample.corpus import DEMO_COLLECTIONS
from tests.cli.test_cli import db_args, ria
from tests.conftest import PACKAGED_COLLECTIONS, Corpus

LUAD = "TCGA-LUAD"


def test_seed_tcga_sets_all_21_collections_from_the_csv(tmp_path: Path, database_url: str | None) -> None:
    args = db_args(tmp_path, database_url)
    result = ria("collections", "seed-tcga", "--file", str(PACKAGED_COLLECTIONS), *args)
    assert result.returncode == 0, result.stderr
    with PACKAGED_COLLECTIONS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 21 and "21 TCGA collections seeded" in result.stdout
    for row in (rows[0], rows[-1]):
        shown = json.loads(ria("collections", "show", row["collection"], *args).stdout)
        assert (shown["doi"], shown["cancer_type"]) == (row["doi"], row["cancer_type"])
        assert shown["license_uri"] == "http://creativecommons.org/licenses/by/3.0/"
        assert shown["access_level"] == "public"
    events = [
        json.loads(line) for line in ria("collections", "audit", "--limit", "100", *args).stdout.splitlines()
    ]
    assert len(events) == 21 and {e["action"] for e in events} == {"collection.seed"}
    # The packaged copy is the same table: seeding from it again changes (and audits) nothing.
    assert ria("collections", "seed-tcga", *args).returncode == 0
    assert len(ria("collections", "audit", "--limit", "100", *args).stdout.splitlines()) == 21


def test_access_and_embargo_changes_need_a_reason_and_are_audited(
    tmp_path: Path, database_url: str | None
) -> None:
    args = db_args(tmp_path, database_url)
    refused = ria("collections", "set", LUAD, "--access", "restricted", *args)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    bad = ria("collections", "set", LUAD, "--access", "secret", "--reason", "x", *args)
    assert bad.returncode == 2 and "access is one of public, restricted, limited" in bad.stderr
    done = ria(
        "collections", "set", LUAD, "--access", "restricted", "--restricted-until-embargo-end",
        "--site", "05", "--embargo-days", "30", "--reason", "pre-release", *args,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "access restricted until the embargo ends" in done.stdout and "ISS member sites: 05" in done.stdout
    assert ria("collections", "set", LUAD, "--doi", "10.7937/K9/TCIA.2016.JGNIHEP5", *args).returncode == 0
    events = [json.loads(line) for line in ria("collections", "audit", LUAD, *args).stdout.splitlines()]
    doi, access = events
    assert access["actor"] == doi["actor"] == getpass.getuser()
    assert access["reason"] == "pre-release" and doi["reason"] is None
    assert access["details"]["access_level"] == {"old": "public", "new": "restricted"}
    assert access["details"]["embargo_window_days"] == {"old": 365, "new": 30}
    assert access["details"]["member_sites"] == {"old": [], "new": ["05"]}
    assert doi["details"] == {"doi": {"old": None, "new": "10.7937/K9/TCIA.2016.JGNIHEP5"}}
    assert ria("collections", "set", LUAD, "--deidentify", "tcia", *args).returncode == 0  # old options work


def test_accrual_table_json_chart_and_cite(tmp_path: Path, corpus: Corpus, database_url: str | None) -> None:
    args = db_args(tmp_path, database_url)
    for name in sorted(corpus.root.iterdir()):
        assert ria("ingest", str(name), "-c", name.name, *args).returncode == 0
    luad_patients = {p.name for p in (corpus.root / LUAD).iterdir()}
    assert (
        ria("collections", "set", LUAD, "--embargo-threshold", "3", "--reason", "small", *args).returncode
        == 0
    )
    chart = tmp_path / "accrual.png"
    body = json.loads(ria("accrual", "-c", LUAD, "--json", "--chart", str(chart), *args).stdout)
    (report,) = body["collections"]
    assert report["cases"] == len(luad_patients) and report["embargo_status"] == "active"
    assert report["by_site"] == {pid.split("-")[1]: 1 for pid in luad_patients}
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    table = ria("accrual", *args)
    assert table.returncode == 0 and "publication embargo until" in table.stdout
    assert f"{len(luad_patients)}/3" in table.stdout

    assert ria("collections", "seed-tcga", *args).returncode == 0
    names = sorted({collection for collection, _ in DEMO_COLLECTIONS.values()})
    selection = [arg for name in names for arg in ("-c", name)]
    bibtex = ria("cite", *selection, "--format", "bibtex", *args).stdout
    assert bibtex.count("@misc{") == 2 and bibtex.count("{") == bibtex.count("}")
    assert bibtex.count("@article{") == 1  # and TCIA's paper (Clark et al. 2013)
    ris = ria("cite", *selection, "--format", "ris", *args).stdout
    assert ris.count("TY  - DATA") == 2 and ris.count("TY  - JOUR") == 1 and ris.count("ER  - ") == 3
    assert len(json.loads(ria("cite", *selection, "--format", "csl-json", *args).stdout)) == 3
    text = ria("cite", *selection, *args).stdout
    assert "TCGA Research Network" in text and "TCGA-LUAD: publication embargo until" in text
    assert ria("cite", *args).returncode == 2
    assert ria("cite", "-c", LUAD, "--format", "docx", *args).returncode == 2


def test_citing_nothing_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    """An empty BibTeX file would look like success: an unknown series is exit 1 with what to fix."""
    assert ria("init", "--data-dir", str(tmp_path / "d")).returncode == 0
    result = ria("cite", "--series", "1.2.3.4", "--format", "bibtex", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "nothing to cite" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_seed_with_tcia_access_limits_the_head_imaging_collections(tmp_path: Path) -> None:
    """TCIA made TCGA-GBM, -HNSC and -LGG limited (face reconstruction); on request the seed does too."""
    args = ["--data-dir", str(tmp_path / "d")]
    result = ria("collections", "seed-tcga", "--tcia-access", *args)
    assert result.returncode == 0, result.stderr
    assert "limited access (TCIA policy): TCGA-GBM, TCGA-HNSC, TCGA-LGG" in result.stdout
    levels = {
        name: json.loads(ria("collections", "show", name, *args).stdout)["access_level"]
        for name in ("TCGA-GBM", "TCGA-HNSC", "TCGA-LGG", "TCGA-LUAD")
    }
    assert levels == {
        "TCGA-GBM": "limited",
        "TCGA-HNSC": "limited",
        "TCGA-LGG": "limited",
        "TCGA-LUAD": "public",
    }
    events = [
        json.loads(line) for line in ria("collections", "audit", "--limit", "100", *args).stdout.splitlines()
    ]
    limited = [e for e in events if e["action"] != "collection.seed"]
    assert sorted(e["target"] for e in limited) == ["TCGA-GBM", "TCGA-HNSC", "TCGA-LGG"]
    assert all("face reconstruction" in e["reason"] for e in limited)
