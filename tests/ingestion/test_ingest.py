"""Ingest of real DICOM on SQLite and PostgreSQL: counts, idempotency, conflicts, bad input.

Expected values come from an independent pydicom read of the corpus (conftest.read_corpus),
never from Ria's own reader.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
import zipfile
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import func, select

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.records import Outcome
from ria.catalog.schema import collection, instance, patient, series, study
from ria.errors import InvalidParameterError
from ria.sample import find_test_file
from tests.conftest import Corpus


def _count(archive: Archive, table: object) -> int:
    with archive.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_ingest_folder_catalogues_every_instance(archive: Archive, corpus: Corpus) -> None:
    report = archive.ingest([corpus.root], "TCGA-LUAD")
    assert (report.ingested, report.duplicate, report.conflict, report.rejected) == (
        len(corpus.files),
        0,
        0,
        0,
    )
    assert report.bytes_ingested == corpus.total_bytes
    assert _count(archive, instance) == len(corpus.sop_uids)
    assert _count(archive, series) == len(corpus.series_uids)
    assert _count(archive, study) == len(corpus.study_uids)
    assert _count(archive, patient) == len(corpus.patients)
    with archive.engine.connect() as conn:
        rows = conn.execute(select(instance.c.sop_instance_uid, instance.c.sha256, instance.c.size)).all()
        sums = conn.execute(select(func.sum(series.c.image_count), func.sum(series.c.file_size))).one()
    by_uid = {sop: (sha, size) for sop, sha, size in rows}
    for path in corpus.files:
        data = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sop = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        assert by_uid[sop] == (hashlib.sha256(data).hexdigest(), len(data))
        assert archive.store.get(by_uid[sop][0]) == data
    assert tuple(sums) == (len(corpus.files), corpus.total_bytes)
    assert archive.catalog.collection_names(principal=OPERATOR) == ["TCGA-LUAD"]
    assert archive.check(verify_hashes=True).consistent


def test_reingest_is_all_duplicates_and_changes_nothing(archive: Archive, corpus: Corpus) -> None:
    archive.ingest([corpus.root], "TCGA-LUAD")
    with archive.engine.connect() as conn:
        before = conn.execute(
            select(series.c.series_instance_uid, series.c.image_count, series.c.file_size)
        ).all()
    blobs_before = sorted(archive.store.iter_keys())
    again = archive.ingest([corpus.root], "TCGA-LUAD")
    assert (again.ingested, again.duplicate, again.conflict, again.rejected) == (0, len(corpus.files), 0, 0)
    with archive.engine.connect() as conn:
        after = conn.execute(
            select(series.c.series_instance_uid, series.c.image_count, series.c.file_size)
        ).all()
    assert sorted(after) == sorted(before)
    assert sorted(archive.store.iter_keys()) == blobs_before


def test_same_file_twice_in_one_batch_is_one_instance(archive: Archive, corpus: Corpus) -> None:
    one = corpus.files[0]
    report = archive.ingest([one, one], "TCGA-LUAD")
    assert (report.ingested, report.duplicate) == (1, 1)
    assert _count(archive, instance) == 1


def _rewrite(source: Path, target: Path, **changes: str) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source)
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        ds.save_as(target, enforce_file_format=True)
    return target


def test_different_bytes_under_existing_sop_uid_is_a_conflict(
    archive: Archive, corpus: Corpus, tmp_path: Path
) -> None:
    original = corpus.files[0]
    archive.ingest([original], "TCGA-LUAD")
    altered = _rewrite(original, tmp_path / "altered.dcm", SeriesDescription="edited by someone")
    report = archive.ingest([altered], "TCGA-LUAD")
    assert (report.ingested, report.conflict) == (0, 1)
    assert report.problems[0].outcome is Outcome.CONFLICT
    assert "different content" in (report.problems[0].reason or "")
    with archive.engine.connect() as conn:
        sha = conn.execute(select(instance.c.sha256)).scalar_one()
    assert sha == hashlib.sha256(original.read_bytes()).hexdigest()  # never overwritten
    assert sorted(archive.store.iter_keys()) == [sha]  # the conflicting bytes are not kept
    assert archive.check().consistent


def test_same_instance_in_another_collection_is_a_conflict(archive: Archive, corpus: Corpus) -> None:
    archive.ingest([corpus.files[0]], "TCGA-LUAD")
    report = archive.ingest([corpus.files[0]], "TCGA-BRCA")
    assert report.conflict == 1
    assert "another collection" in (report.problems[0].reason or "")
    assert archive.catalog.collection_names(principal=OPERATOR) == ["TCGA-LUAD"]
    assert archive.check().consistent  # the shared blob was not deleted


def test_study_under_a_different_patient_is_a_conflict(
    archive: Archive, corpus: Corpus, tmp_path: Path
) -> None:
    first = corpus.files[0]
    archive.ingest([first], "TCGA-LUAD")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(first)
    moved = _rewrite(
        first, tmp_path / "moved.dcm", PatientID="TCGA-99-ZZZZ", SOPInstanceUID=ds.SOPInstanceUID + ".9"
    )
    report = archive.ingest([moved], "TCGA-LUAD")
    assert report.conflict == 1
    assert "different patient" in (report.problems[0].reason or "")
    assert _count(archive, patient) == 1
    assert _count(archive, instance) == 1


def test_bad_files_are_rejected_with_reasons_and_the_batch_goes_on(
    archive: Archive, corpus: Corpus, tmp_path: Path
) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(corpus.root, batch)
    (batch / "notes.txt").write_text("not an image")
    (batch / "empty.dcm").write_bytes(b"")
    shutil.copy(find_test_file("MR_truncated.dcm"), batch / "truncated.dcm")
    (batch / "cut.dcm").write_bytes(corpus.files[0].read_bytes()[:3000])
    report = archive.ingest([batch], "TCGA-LUAD")
    assert report.ingested == len(corpus.files)
    assert report.rejected == 4
    reasons = {Path(p.source).name: p.reason or "" for p in report.problems}
    assert "DICM" in reasons["notes.txt"]
    assert "empty" in reasons["empty.dcm"]
    assert "truncated" in reasons["truncated.dcm"]
    assert "truncated" in reasons["cut.dcm"] or "unreadable" in reasons["cut.dcm"]
    assert not list((archive.settings.blob_dir / "staging").iterdir())
    assert _count(archive, instance) == len(corpus.files)
    lines = report.path.read_text().splitlines() if report.path else []
    assert len(lines) == report.total


def test_zip_archives_are_ingested_member_by_member(archive: Archive, corpus: Corpus, tmp_path: Path) -> None:
    bundle = tmp_path / "upload.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for path in corpus.files:
            zf.write(path, arcname=f"../../{path.relative_to(corpus.root)}")  # hostile names are harmless
        zf.writestr("README.txt", "not dicom")
    report = archive.ingest([bundle], "TCGA-LUAD")
    assert (report.ingested, report.rejected) == (len(corpus.files), 1)
    assert _count(archive, instance) == len(corpus.sop_uids)
    assert not (tmp_path.parent.parent / "TCGA-LUAD").exists()


def test_misnamed_zip_is_rejected_with_a_hint(archive: Archive, corpus: Corpus, tmp_path: Path) -> None:
    bundle = tmp_path / "upload.bin"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.write(corpus.files[0], arcname="a.dcm")
    report = archive.ingest([bundle], "TCGA-LUAD")
    assert report.rejected == 1
    assert "rename it" in (report.problems[0].reason or "")


def test_missing_path_fails_before_anything_is_written(
    archive: Archive, corpus: Corpus, tmp_path: Path
) -> None:
    with pytest.raises(InvalidParameterError, match="no such file"):
        archive.ingest([corpus.root, tmp_path / "nope"], "TCGA-LUAD")
    assert _count(archive, instance) == 0


@pytest.mark.parametrize("name", ["", " TCGA", "../etc", "a/b", "x" * 65, "TCGA\nLUAD"])
def test_bad_collection_names_are_refused(archive: Archive, corpus: Corpus, name: str) -> None:
    with pytest.raises(InvalidParameterError):
        archive.ingest([corpus.files[0]], name)
    assert _count(archive, collection) == 0


def test_parallel_and_inline_paths_agree(archive: Archive, corpus: Corpus) -> None:
    inline = archive.ingest(corpus.files[:10], "TCGA-LUAD", workers=1)
    parallel = archive.ingest([corpus.root], "TCGA-LUAD", workers=2)
    assert inline.ingested == 10
    assert (parallel.ingested, parallel.duplicate) == (len(corpus.files) - 10, 10)
    assert _count(archive, instance) == len(corpus.files)


def test_conflicting_hierarchy_inside_one_batch(archive: Archive, corpus: Corpus, tmp_path: Path) -> None:
    """Two new files claim one study for different patients: the first wins, the second conflicts."""
    source = corpus.files[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source)
    first = _rewrite(source, tmp_path / "a.dcm", SOPInstanceUID=ds.SOPInstanceUID + ".1")
    other_patient = _rewrite(
        source, tmp_path / "b.dcm", SOPInstanceUID=ds.SOPInstanceUID + ".2", PatientID="TCGA-99-0001"
    )
    other_study = _rewrite(
        source, tmp_path / "c.dcm", SOPInstanceUID=ds.SOPInstanceUID + ".3", StudyInstanceUID="1.2.3.4.5"
    )
    report = archive.ingest([first, other_patient, other_study], "TCGA-LUAD", workers=1)
    assert (report.ingested, report.conflict) == (1, 2)
    reasons = {Path(p.source).name: p.reason or "" for p in report.problems}
    assert "different patient" in reasons["b.dcm"]
    assert "different study" in reasons["c.dcm"]
    assert (_count(archive, patient), _count(archive, study), _count(archive, instance)) == (1, 1, 1)
    assert archive.check().consistent
