"""De-identification inside ingest, as a curator runs it: ``ria ingest --deidentify … --id-map …``."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pydicom
import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.deid.profiles import Profile
from ria.errors import InvalidParameterError
from ria.settings import Settings
from tests.cli.test_cli import db_args, ria
from tests.deid.phi import MRN, Markers, Planted, plant, real_files, survivors

TARGET = "TCGA-05-4244"


def _planted_corpus(root: Path, profile: Profile) -> Planted:
    """Planted copies of pydicom's real files under ``root``, all of one site patient (MRN)."""
    root.mkdir(parents=True)
    everything = Planted()
    for number, path in enumerate(real_files()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            planted = plant(ds, profile, Markers(number + 1))
            ds.save_as(root / f"{number}.dcm", enforce_file_format=True)
        everything.markers.update(planted.markers)
    return everything


def _stored_bytes(archive: Archive) -> list[bytes]:
    return [archive.store.get(key) for key in archive.store.iter_keys()]


def test_cli_ingest_stores_only_deidentified_bytes(tmp_path: Path, database_url: str | None) -> None:
    profile = Profile.parse("tcia")
    planted = _planted_corpus(tmp_path / "site", profile)
    stranger = tmp_path / "site" / "stranger.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(next(real_files()))
        ds.PatientID = "UNMAPPED-1"
        ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.543.999999"
        ds.save_as(stranger, enforce_file_format=True)
    id_map = tmp_path / "map.csv"
    id_map.write_text(f"source_patient_id,target_patient_id\n{MRN},{TARGET}\n")
    data = tmp_path / "data"
    args = [
        "ingest",
        str(tmp_path / "site"),
        "-c",
        "TCGA-LUAD",
        "--deidentify",
        "tcia",
        "--id-map",
        str(id_map),
    ]
    result = ria(*args, "--json", *db_args(data, database_url))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    files = len(list(real_files()))
    assert (report["ingested"] + report["quarantined"], report["rejected"]) == (files, 1)  # SC: held
    assert "not in the ID map" in report["problems"][0]["reason"]
    assert "UNMAPPED-1" not in result.stdout + result.stderr
    assert report["deidentification"]  # what was removed/replaced/kept, counted by attribute
    assert not any(marker in json.dumps(report) for marker in planted.markers)

    with Archive(Settings(data_dir=data, database_url=database_url)) as archive:
        stored = _stored_bytes(archive)
        assert len(stored) == files
        for blob in stored:
            assert survivors(blob, planted) == {}  # originals never reached the store
            assert b"UNMAPPED-1" not in blob
        assert [p.patient_id for p in archive.catalog.patients(principal=OPERATOR)] == [TARGET]
        first = {row.series_instance_uid for row in archive.catalog.series(principal=OPERATOR)}

    again = ria(*args, "--json", *db_args(data, database_url))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["duplicate"] == files  # same key, same UIDs: nothing new
    with Archive(Settings(data_dir=data, database_url=database_url)) as archive:
        assert {row.series_instance_uid for row in archive.catalog.series(principal=OPERATOR)} == first
    key = data / "private" / "deid.key"
    assert key.exists() and (key.stat().st_mode & 0o077) == 0


def test_deidentify_and_id_map_go_together(tmp_path: Path) -> None:
    result = ria(
        "ingest", str(tmp_path), "-c", "X", "--deidentify", "basic", "--data-dir", str(tmp_path / "d")
    )
    assert result.returncode == 2
    assert "--deidentify and --id-map go together" in result.stderr


@pytest.mark.parametrize(("spec", "needle"), [("basic,nonsense", "nonsense"), ("", "--deidentify")])
def test_a_bad_profile_is_one_line_and_exit_2(tmp_path: Path, spec: str, needle: str) -> None:
    id_map = tmp_path / "map.csv"
    id_map.write_text(f"source_patient_id,target_patient_id\n{MRN},{TARGET}\n")
    result = ria(
        "ingest", str(tmp_path), "-c", "X", "--deidentify", spec, "--id-map", str(id_map),
        "--data-dir", str(tmp_path / "d"),
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_python_api_matches_the_cli(tmp_path: Path) -> None:
    profile = Profile.parse("basic")
    planted = _planted_corpus(tmp_path / "site", profile)
    with Archive(Settings(data_dir=tmp_path / "data", workers=2)) as archive:
        deidentifier = archive.deidentifier(profile, _map(tmp_path))
        report = archive.ingest([tmp_path / "site"], "TCGA-LUAD", deidentify=deidentifier)
        assert report.ingested + report.quarantined == len(list(real_files()))  # SC: held for review
        for blob in _stored_bytes(archive):
            assert survivors(blob, planted) == {}
            assert pydicom.dcmread(io.BytesIO(blob)).PatientIdentityRemoved == "YES"


def _map(tmp_path: Path) -> Path:
    path = tmp_path / "map.csv"
    path.write_text(f"source_patient_id,target_patient_id\n{MRN},{TARGET}\n")
    return path


def test_worker_processes_deidentify_too(tmp_path: Path) -> None:
    """Past the inline limit, ingest runs in a process pool: the de-identifier must travel there."""
    source = tmp_path / "site"
    source.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template = pydicom.dcmread(next(real_files()))
    template.PatientID = MRN
    for number in range(80):
        template.SOPInstanceUID = f"1.2.826.0.1.3680043.10.543.7.{number}"
        template.file_meta.MediaStorageSOPInstanceUID = template.SOPInstanceUID
        template.InstanceNumber = number + 1
        template.save_as(source / f"{number}.dcm", enforce_file_format=True)
    with Archive(Settings(data_dir=tmp_path / "data", workers=2)) as archive:
        deidentifier = archive.deidentifier(Profile.parse("tcia"), _map(tmp_path))
        report = archive.ingest([source], "TCGA-LUAD", deidentify=deidentifier)
        assert report.ingested == 80, report.summary()
        sops = {
            row.sop_instance_uid
            for row in archive.catalog.instances(
                archive.catalog.series(principal=OPERATOR)[0].series_instance_uid, principal=OPERATOR
            )
        }
        assert len(sops) == 80 and not any(uid.startswith("1.2.826.0.1.3680043.10.543.7.") for uid in sops)


def test_a_collection_can_require_deidentification(tmp_path: Path, database_url: str | None) -> None:
    """Once a collection requires a profile, nothing enters it without a de-identifier applying it."""
    profile = Profile.parse("tcia")
    planted = _planted_corpus(tmp_path / "site", profile)
    data = tmp_path / "data"
    where = db_args(data, database_url)
    assert ria("collections", "set", "TCGA-LUAD", "--deidentify", "tcia", *where).returncode == 0

    plain = ria("ingest", str(tmp_path / "site"), "-c", "TCGA-LUAD", *where)
    assert plain.returncode == 2
    assert "takes only data de-identified with profile" in plain.stderr
    other = ria("ingest", str(tmp_path / "site"), "-c", "TCGA-LUAD", "--deidentify", "basic",
                "--id-map", str(_map(tmp_path)), *where)  # fmt: skip
    assert other.returncode == 2  # a weaker profile is refused too
    with Archive(Settings(data_dir=data, database_url=database_url)) as archive:
        assert archive.catalog.instance_count() == 0
        with pytest.raises(InvalidParameterError):
            archive.ingest([tmp_path / "site"], "TCGA-LUAD")  # the Python API keeps the rule as well

    done = ria(
        "ingest", str(tmp_path / "site"), "-c", "TCGA-LUAD", "--id-map", str(_map(tmp_path)), "--json", *where
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ingested"] + report["quarantined"] == len(list(real_files()))
    with Archive(Settings(data_dir=data, database_url=database_url)) as archive:
        for blob in _stored_bytes(archive):
            assert survivors(blob, planted) == {}
        assert archive.required_profile("TCGA-LUAD") == "basic,cpd,cd,rlmd,rpc,rdi,rsp"
    lifted = ria("collections", "set", "TCGA-LUAD", "--deidentify", "none", *where)
    assert lifted.returncode == 0 and "not required" in lifted.stdout
    bad = ria("collections", "set", "TCGA-LUAD", "--deidentify", "basic,nonsense", *where)
    assert bad.returncode == 2 and "nonsense" in bad.stderr


def test_collections_set_stores_the_network_id_map_privately(tmp_path: Path) -> None:
    data = tmp_path / "data"
    where = db_args(data, None)
    id_map = _map(tmp_path)
    stored = ria("collections", "set", "TCGA-LUAD", "--id-map", str(id_map), *where)
    assert stored.returncode == 0, stored.stderr
    assert "ID map for network uploads: stored (1 patients)" in stored.stdout
    with Archive(Settings(data_dir=data)) as archive:
        kept = archive.stored_id_map("TCGA-LUAD")
        assert kept is not None and kept.target(MRN) == TARGET
        (copy,) = (archive.settings.private_dir / "id-maps").iterdir()
        assert copy.stat().st_mode & 0o077 == 0 and copy.read_bytes() == id_map.read_bytes()
    broken = tmp_path / "broken.csv"
    broken.write_text("patient,barcode\nA,B\n")
    refused = ria("collections", "set", "TCGA-LUAD", "--id-map", str(broken), *where)
    assert refused.returncode == 2 and refused.stderr.count("\n") <= 1
    assert ria("collections", "set", "TCGA-LUAD", *where).returncode == 2
    removed = ria("collections", "set", "TCGA-LUAD", "--id-map", "none", *where)
    assert removed.returncode == 0 and "ID map for network uploads: none" in removed.stdout
