"""Network uploads (the core under STOW-RS and C-STORE): spooled, ingested like files, answered in order."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.records import Outcome
from ria.errors import InvalidParameterError
from ria.ingestion.receive import Spool, receive
from ria.sample import find_test_file


def _dicom(name: str, **changes: object) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(find_test_file(name))
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _uids(data: bytes) -> tuple[str, str, str, str]:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return str(ds.SOPClassUID), str(ds.SOPInstanceUID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


def test_a_mixed_request_gets_one_answer_per_instance_in_order(archive: Archive) -> None:
    ct, mr = _dicom("CT_small.dcm"), _dicom("MR_small.dcm")
    truncated = ct[:-200]
    with Spool(archive.settings.data_dir) as spool:
        for data in (ct, b"not dicom at all", truncated, mr, ct):
            spool.add_stream(io.BytesIO(data))
        answers = receive(archive, spool, "TCGA-LUAD")
        folder = spool.folder
    assert not folder.exists()  # the spool is gone once answered
    assert [a.index for a in answers] == [0, 1, 2, 3, 4]
    assert [a.outcome for a in answers] == [
        Outcome.INGESTED,
        Outcome.REJECTED,
        Outcome.REJECTED,  # the same SOP instance, cut: refused, the stored one untouched
        Outcome.INGESTED,
        Outcome.DUPLICATE,
    ]
    assert (answers[0].sop_class_uid, answers[0].sop_instance_uid, answers[0].study_instance_uid,
            answers[0].series_instance_uid) == _uids(ct)  # fmt: skip
    assert answers[1].sop_instance_uid is None and "DICM" in (answers[1].reason or "")
    assert answers[2].sop_instance_uid == _uids(ct)[1] and "truncated" in (answers[2].reason or "")
    assert answers[3].sop_instance_uid == _uids(mr)[1]
    assert archive.catalog.instance_count() == 2
    assert archive.check(verify_hashes=True).consistent


def test_an_empty_request_stores_nothing(archive: Archive) -> None:
    with Spool(archive.settings.data_dir) as spool:
        assert receive(archive, spool, "TCGA-LUAD") == []


def test_a_deidentifying_collection_needs_a_stored_map_then_applies_it(
    archive: Archive, tmp_path: Path
) -> None:
    ct = _dicom("CT_small.dcm", PatientID="MRN-1")
    archive.require_deidentification("TCGA-LUAD", "tcia")
    with Spool(archive.settings.data_dir) as spool:
        spool.add_stream(io.BytesIO(ct))
        with pytest.raises(InvalidParameterError, match="ria collections set TCGA-LUAD --id-map"):
            receive(archive, spool, "TCGA-LUAD")
    assert archive.catalog.instance_count() == 0
    id_map = tmp_path / "map.csv"
    id_map.write_text("source_patient_id,target_patient_id\nMRN-1,TCGA-05-4244\n")
    assert archive.store_id_map("TCGA-LUAD", id_map) == 1
    assert (archive.settings.private_dir / "id-maps").stat().st_mode & 0o077 == 0
    with Spool(archive.settings.data_dir) as spool:
        spool.add_stream(io.BytesIO(ct))
        spool.add_stream(io.BytesIO(_dicom("MR_small.dcm", PatientID="MRN-unknown")))
        first, unmapped = receive(archive, spool, "TCGA-LUAD")
    assert first.outcome is Outcome.INGESTED and unmapped.outcome is Outcome.REJECTED
    assert first.sop_instance_uid != _uids(ct)[1]  # named as stored: the new UID
    stored = archive.catalog.instance(first.sop_instance_uid or "", principal=OPERATOR)
    assert stored is not None
    with archive.store.open(stored.blob_key) as handle:
        out = pydicom.dcmread(io.BytesIO(handle.read()))
    assert out.PatientID == "TCGA-05-4244" and out.PatientIdentityRemoved == "YES"
    assert "not in the ID map" in (unmapped.reason or "") and "MRN-unknown" not in (unmapped.reason or "")
    archive.store_id_map("TCGA-LUAD", None)
    assert archive.stored_id_map("TCGA-LUAD") is None


def test_sweep_clears_what_dead_requests_left(archive: Archive) -> None:
    spool = Spool(archive.settings.data_dir)
    spool.add_stream(io.BytesIO(b"partial upload"))
    archive.collect_garbage(grace_seconds=3600)
    assert spool.folder.exists()  # a live request may still be writing it
    assert Spool.sweep(archive.settings.data_dir, older_than=3600) == 0
    archive.collect_garbage(grace_seconds=0)
    assert not spool.folder.exists()
    assert archive.catalog.instance_count() == 0
