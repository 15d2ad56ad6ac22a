"""`ria ingest` shows what it held; `ria review list|release|reject` decide. Real processes, both databases.

The end-to-end case runs the real de-identifier (``--deidentify``), which holds
pydicom's real ultrasound image (modality US, no BurnedInAnnotation) and lets
its real CT through. The other cases hold files through the Python API with a
stand-in transform (tests.ingestion.held) and decide from the command line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ria.archive import Archive
from ria.sample import find_test_file
from ria.settings import Settings
from tests.cli.test_cli import db_args, ria
from tests.ingestion.held import REASON, HeldFile, HoldBurnedIn, burned_in_ct, read_file

NAME = "Zyxwv^Qponml"


def _hold(data: Path, database_url: str | None, *files: HeldFile, collection: str = "TCGA-LUAD") -> None:
    with Archive(Settings(data_dir=data, database_url=database_url, workers=1)) as archive:
        report = archive.ingest([f.path for f in files], collection, deidentify=HoldBurnedIn())
    assert report.quarantined == len(files)


def _listed(data: Path, database_url: str | None, *extra: str) -> list[dict[str, object]]:
    result = ria("review", "list", "--json", *extra, *db_args(data, database_url))
    assert result.returncode == 0, result.stderr
    body: list[dict[str, object]] = json.loads(result.stdout)
    return body


def test_deidentifying_ingest_holds_ultrasound_until_released(
    tmp_path: Path, database_url: str | None
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(find_test_file("US1_UNCR.dcm"), site / "us.dcm")
    shutil.copy(find_test_file("CT_small.dcm"), site / "ct.dcm")
    us, ct = read_file(site / "us.dcm"), read_file(site / "ct.dcm")
    id_map = tmp_path / "map.csv"
    id_map.write_text(
        f"source_patient_id,target_patient_id\n{us.patient_id},TCGA-AA-0001\n{ct.patient_id},TCGA-AA-0002\n"
    )
    data = tmp_path / "data"
    ingest = ["ingest", str(site), "-c", "TCGA-LUAD", "--deidentify", "basic", "--id-map", str(id_map)]

    result = ria(*ingest, "--strict", *db_args(data, database_url))
    assert result.returncode == 0, result.stderr  # held for review is not a failure, even with --strict
    assert "TCGA-LUAD: 1 ingested, 0 duplicate, 0 conflict, 0 rejected, 1 quarantined" in result.stdout
    assert f"quarantined: {site / 'us.dcm'}: modality US" in result.stdout

    [held] = _listed(data, database_url)
    assert held["collection"] == "TCGA-LUAD" and str(held["reason"]).startswith("modality US")
    assert held["sop_instance_uid"] != us.sop_uid  # de-identified on the way in: a new UID
    table = ria("review", "list", *db_args(data, database_url))
    header, row = table.stdout.splitlines()
    assert header.split("\t") == [
        "id",
        "collection",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "bytes",
        "reason",
        "held_since",
    ]
    assert row.split("\t")[:5] == [
        str(held["id"]),
        "TCGA-LUAD",
        str(held["series_instance_uid"]),
        str(held["sop_instance_uid"]),
        str(held["size"]),
    ]
    collections = json.loads(ria("collections", "list", "--json", *db_args(data, database_url)).stdout)
    assert [(c["instances"], c["modalities"]) for c in collections] == [(1, ["CT"])]

    released = ria("review", "release", str(held["id"]), *db_args(data, database_url))
    assert released.returncode == 0, released.stderr
    assert f"{held['id']}: released (ingested) {held['sop_instance_uid']}" in released.stdout
    collections = json.loads(ria("collections", "list", "--json", *db_args(data, database_url)).stdout)
    assert [(c["instances"], c["modalities"]) for c in collections] == [(2, ["CT", "US"])]
    assert _listed(data, database_url) == []

    again = ria(*ingest, "--json", *db_args(data, database_url))
    assert (json.loads(again.stdout)["duplicate"], json.loads(again.stdout)["quarantined"]) == (2, 0)


def test_reject_then_gc_reclaims_the_held_bytes(tmp_path: Path, database_url: str | None) -> None:
    data = tmp_path / "data"
    held = burned_in_ct(tmp_path / "in" / "x.dcm", PatientName=NAME)
    _hold(data, database_url, held)
    [entry] = _listed(data, database_url)
    assert (entry["sop_instance_uid"], entry["size"], entry["reason"]) == (held.sop_uid, held.size, REASON)

    kept = ria("gc", "--grace-seconds", "0", *db_args(data, database_url))
    assert "removed 0 unreferenced objects" in kept.stdout
    check = ria("check", *db_args(data, database_url))
    assert check.returncode == 0 and "unreferenced blobs: 0" in check.stdout

    rejected = ria("review", "reject", str(entry["id"]), *db_args(data, database_url))
    assert rejected.returncode == 0, rejected.stderr
    assert f"{entry['id']}: rejected {held.sop_uid}" in rejected.stdout
    empty = ria("review", "list", *db_args(data, database_url))
    assert empty.stdout == "" and "nothing is held" in empty.stderr
    assert (
        "removed 1 unreferenced objects"
        in ria("gc", "--grace-seconds", "0", *db_args(data, database_url)).stdout
    )
    with Archive(Settings(data_dir=data, database_url=database_url)) as archive:
        assert not archive.store.exists(held.sha256)
    for output in (rejected.stdout, empty.stdout, empty.stderr, json.dumps(entry)):
        assert "Zyxwv" not in output and "Qponml" not in output


def test_release_all_of_one_collection(tmp_path: Path, database_url: str | None) -> None:
    data = tmp_path / "data"
    luad = [burned_in_ct(tmp_path / "l" / f"{n}.dcm") for n in range(2)]
    brca = burned_in_ct(tmp_path / "b" / "0.dcm", patient_id="TCGA-HL-0002")
    _hold(data, database_url, *luad)
    _hold(data, database_url, brca, collection="TCGA-BRCA")
    result = ria("review", "release", "--all", "-c", "TCGA-LUAD", "--json", *db_args(data, database_url))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert [(r["outcome"], r["released"], r["sop_instance_uid"]) for r in body] == [
        ("ingested", True, f.sop_uid) for f in luad
    ]
    assert [e["sop_instance_uid"] for e in _listed(data, database_url)] == [brca.sop_uid]
    assert [e["sop_instance_uid"] for e in _listed(data, database_url, "-c", "TCGA-LUAD")] == []


def test_a_release_that_fails_exits_1_and_keeps_it_held(tmp_path: Path, database_url: str | None) -> None:
    data = tmp_path / "data"
    held = burned_in_ct(tmp_path / "in" / "x.dcm")
    _hold(data, database_url, held)
    [entry] = _listed(data, database_url)
    with Archive(Settings(data_dir=data, database_url=database_url)) as archive:
        archive.store.delete(held.sha256)  # lost bytes: the release must refuse, not catalogue
    result = ria("review", "release", str(entry["id"]), *db_args(data, database_url))
    assert result.returncode == 1
    assert f"{entry['id']}: still held (rejected): its stored object cannot be read" in result.stdout
    assert "0 released, 1 still held" in result.stdout
    assert [e["id"] for e in _listed(data, database_url)] == [entry["id"]]


def test_bad_review_usage_is_exit_2_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    held = burned_in_ct(tmp_path / "in" / "x.dcm")
    _hold(data, None, held)
    [entry] = _listed(data, None)
    unknown = int(str(entry["id"])) + 41
    for args, needle in (
        (["release", str(entry["id"]), str(unknown)], f"under ID {unknown} "),
        (["reject", str(unknown)], f"under ID {unknown} "),
        (["release", "abc"], "not a quarantine ID: 'abc'"),
        (["release"], "give quarantine IDs"),
        (["release", "--all"], "--all needs --collection"),
        (["reject", "--all", "-c", "TCGA-LUAD", str(entry["id"])], "IDs or --all, not both"),
        (["release", str(entry["id"]), "-c", "TCGA-LUAD"], "--collection goes with --all"),
        (["release", "--all", "-c", "../etc"], "invalid collection name"),
    ):
        result = ria("review", *args, "--data-dir", str(data))
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], (args, lines)
    assert [e["id"] for e in _listed(data, None)] == [entry["id"]]  # nothing was decided
