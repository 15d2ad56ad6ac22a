"""Ingest holds burned-in instances apart: stored, reported, never catalogued; gc keeps them.

Real DICOM (pydicom's images declaring BurnedInAnnotation YES) through a stand-in
transform (tests.ingestion.held) on SQLite and PostgreSQL. Expectations come from
pydicom and hashlib reads of the files, never from Ria's reader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import func, select

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.records import Outcome
from ria.catalog.schema import instance, patient, series
from tests.conftest import Corpus
from tests.ingestion.held import REASON, HeldFile, HoldBurnedIn, burned_in_copy, burned_in_ct, rewrite


def _catalogued_sops(archive: Archive) -> set[str]:
    with archive.engine.connect() as conn:
        return set(conn.execute(select(instance.c.sop_instance_uid)).scalars())


def _held(archive: Archive) -> list[tuple[str, str, str, int, str]]:
    return [
        (h.collection, h.series_instance_uid, h.sop_instance_uid, h.size, h.reason)
        for h in archive.quarantine.list()
    ]


def _expected(collection: str, *files: HeldFile) -> list[tuple[str, str, str, int, str]]:
    return [(collection, f.series_uid, f.sop_uid, f.size, REASON) for f in files]


def test_held_instances_are_stored_apart_and_reported(
    archive: Archive, corpus: Corpus, tmp_path: Path
) -> None:
    upload = tmp_path / "upload"
    shutil.copytree(corpus.root, upload)  # 90 files: past the inline limit, so worker processes run it
    same_series = burned_in_copy(corpus.files[0], upload / "held" / "same-series.dcm")
    own_series = burned_in_ct(upload / "held" / "own-series.dcm")

    report = archive.ingest([upload], "TCGA-LUAD", deidentify=HoldBurnedIn())

    counts = (report.ingested, report.quarantined, report.duplicate, report.conflict, report.rejected)
    assert counts == (len(corpus.files), 2, 0, 0, 0)
    assert report.ok  # held for a curator is not a failure
    assert report.total == len(corpus.files) + 2
    assert report.bytes_ingested == corpus.total_bytes
    assert f"{len(corpus.files)} ingested" in report.summary() and ", 2 quarantined" in report.summary()
    body = report.to_json()
    assert body["quarantined"] == 2
    held_problems = [p for p in body["problems"] if p["outcome"] == "quarantined"]
    assert sorted((p["sop_instance_uid"], p["reason"]) for p in held_problems) == sorted(
        [(same_series.sop_uid, REASON), (own_series.sop_uid, REASON)]
    )
    assert report.path is not None
    lines = [json.loads(line) for line in report.path.read_text().splitlines()]
    assert len(lines) == report.total
    by_file = {Path(line["file"]).name: line for line in lines}
    for held in (same_series, own_series):
        assert by_file[held.path.name] == {
            "file": str(held.path),
            "outcome": "quarantined",
            "reason": REASON,
            "sop_instance_uid": held.sop_uid,
        }

    # Not catalogued: exactly the corpus is, with the corpus's counts.
    assert _catalogued_sops(archive) == corpus.sop_uids
    with archive.engine.connect() as conn:
        series_uids = set(conn.execute(select(series.c.series_instance_uid)).scalars())
        patient_ids = set(conn.execute(select(patient.c.patient_id)).scalars())
        totals = conn.execute(select(func.sum(series.c.image_count), func.sum(series.c.file_size))).one()
    assert series_uids == corpus.series_uids and own_series.series_uid not in series_uids
    assert patient_ids == corpus.patients
    assert tuple(totals) == (len(corpus.files), corpus.total_bytes)
    stats = archive.catalog.collection_stats(principal=OPERATOR)
    assert [(s.name, s.instances, s.bytes) for s in stats] == [
        ("TCGA-LUAD", len(corpus.files), corpus.total_bytes)
    ]

    # Held apart, bytes intact, counted by check as referenced.
    assert sorted(_held(archive)) == sorted(_expected("TCGA-LUAD", same_series, own_series))
    for held in (same_series, own_series):
        assert archive.store.get(held.sha256) == held.data
    check = archive.check(verify_hashes=True)
    assert check.consistent
    assert (check.instances, check.held, check.orphan_blobs) == (len(corpus.files), 2, 0)


def test_gc_keeps_held_blobs_until_a_curator_rejects_them(archive: Archive, tmp_path: Path) -> None:
    held = burned_in_ct(tmp_path / "in" / "held.dcm")
    assert archive.ingest([held.path], "TCGA-LUAD", deidentify=HoldBurnedIn()).quarantined == 1

    assert archive.collect_garbage(grace_seconds=0)[0] == 0
    assert archive.store.get(held.sha256) == held.data
    assert archive.check().orphan_blobs == 0

    [entry] = archive.quarantine.list()
    assert [h.sop_instance_uid for h in archive.quarantine.reject([entry.id])] == [held.sop_uid]
    assert archive.quarantine.list() == []
    assert archive.check().orphan_blobs == 1  # unreferenced now, as any removed row's blob
    assert archive.collect_garbage(grace_seconds=0)[0] == 1
    assert not archive.store.exists(held.sha256)
    check = archive.check()
    assert check.consistent and (check.held, check.orphan_blobs) == (0, 0)


def test_offering_a_held_instance_again_never_gets_it_past_the_curator(
    archive: Archive, tmp_path: Path
) -> None:
    held = burned_in_ct(tmp_path / "in" / "held.dcm")
    first = archive.ingest([held.path], "TCGA-LUAD", deidentify=HoldBurnedIn())
    assert first.quarantined == 1

    again = archive.ingest([held.path], "TCGA-LUAD", deidentify=HoldBurnedIn())
    assert (again.quarantined, again.duplicate) == (0, 1)
    plain = archive.ingest([held.path], "TCGA-LUAD")  # no transform: the same bytes are still held
    assert (plain.ingested, plain.duplicate) == (0, 1)
    assert plain.path is not None
    assert "already held in quarantine" in json.loads(plain.path.read_text().splitlines()[0])["reason"]
    elsewhere = archive.ingest([held.path], "TCGA-BRCA", deidentify=HoldBurnedIn())
    assert elsewhere.conflict == 1
    assert "another collection" in (elsewhere.problems[0].reason or "")
    altered = rewrite(held.path, tmp_path / "in2" / "altered.dcm", SeriesDescription="edited")
    changed = archive.ingest([altered.path], "TCGA-LUAD", deidentify=HoldBurnedIn())
    assert changed.conflict == 1
    assert "held in quarantine with different content" in (changed.problems[0].reason or "")

    assert _catalogued_sops(archive) == set()
    assert _held(archive) == _expected("TCGA-LUAD", held)
    assert sorted(archive.store.iter_keys()) == [held.sha256]  # conflicting bytes were not kept
    assert (
        archive.catalog.collections(principal=OPERATOR) == []
    )  # holding creates no collection anyone can list


def test_the_same_held_file_twice_in_one_batch_is_held_once(archive: Archive, tmp_path: Path) -> None:
    held = burned_in_ct(tmp_path / "in" / "held.dcm")
    report = archive.ingest([held.path, held.path], "TCGA-LUAD", deidentify=HoldBurnedIn(), workers=1)
    assert (report.quarantined, report.duplicate) == (1, 1)
    assert _held(archive) == _expected("TCGA-LUAD", held)


def test_an_instance_already_catalogued_is_a_duplicate_not_held(
    archive: Archive, corpus: Corpus, tmp_path: Path
) -> None:
    """Declaring burned-in text after the fact does not pull a served instance back: the
    catalogued bytes stay, different bytes under its UID are a conflict, as for any ingest."""
    source = corpus.files[0]
    archive.ingest([source], "TCGA-LUAD")
    marked = rewrite(source, tmp_path / "in" / "marked.dcm")  # same UIDs, now declaring YES
    report = archive.ingest([source, marked.path], "TCGA-LUAD", deidentify=HoldBurnedIn(), workers=1)
    assert (report.duplicate, report.conflict, report.quarantined) == (1, 1, 0)
    assert archive.quarantine.list() == []
    assert {p.outcome for p in report.problems} == {Outcome.CONFLICT}
