"""C-ECHO and C-STORE with dcmtk's echoscu and storescu against a node running in-process."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pydicom
import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.dicom.uids import derive_uid
from ria.sample import find_test_file
from ria.settings import Settings
from tests.dimse.conftest import Run, StoreSCP, dataset_bytes, read, start_node

# Real files in every transfer syntax family, each sent with the storescu option that proposes
# its transfer syntax (storescu proposes uncompressed ones only unless told).
SAMPLES: dict[str, tuple[str, ...]] = {
    "-x=": ("CT_small.dcm", "emri_small.dcm"),
    "-xi": ("MR_small_implicit.dcm",),
    "-xb": ("MR_small_bigendian.dcm",),
    "-xr": ("MR_small_RLE.dcm", "emri_small_RLE.dcm"),
    "-xv": ("MR_small_jp2klossless.dcm",),
    "-xt": ("MR_small_jpeg_ls_lossless.dcm",),
}


def _folder(tmp_path: Path) -> Path:
    """The samples as distinct instances (several share UIDs in pydicom), a folder per storescu option."""
    folder = tmp_path / "outgoing"
    for option, names in SAMPLES.items():
        for index, name in enumerate(names):
            target = folder / option / f"sub{index % 2}" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dataset = pydicom.dcmread(find_test_file(name))
                dataset.PatientID = dataset.get("PatientID") or "RIA-SAMPLE-1"
                dataset.SeriesInstanceUID = derive_uid("dimse-test", name, "series")
                dataset.SOPInstanceUID = derive_uid("dimse-test", name, "instance")
                dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
                dataset.save_as(target, enforce_file_format=True)
    return folder


def _send_all(dcmtk: Run, port: int, folder: Path) -> None:
    for option in SAMPLES:
        result = dcmtk(
            "storescu", "-aec", "RIA", option, "-R", "+sd", "+r", "127.0.0.1", str(port), str(folder / option)
        )
        assert result.returncode == 0, result.stderr


def _digest(data: bytes) -> str:
    return hashlib.sha256(dataset_bytes(data)).hexdigest()


def test_echoscu_is_answered(sqlite_archive: Archive, dcmtk: Run) -> None:
    with start_node(sqlite_archive) as node:
        result = dcmtk("echoscu", "-aec", "RIA", "127.0.0.1", str(node.port))
    assert result.returncode == 0, result.stderr


def test_storescu_of_a_folder_stores_every_instance_byte_for_byte(
    tmp_path: Path, settings: Settings, dcmtk: Run, storescp: StoreSCP
) -> None:
    folder = _folder(tmp_path)
    sources = sorted(folder.rglob("*.dcm"))
    # What storescu sends is not quite the file (it drops trailing padding, fixes the VR of
    # encapsulated pixel data): dcmtk's storescp, bit-preserving, records what was sent.
    _send_all(dcmtk, storescp.port, folder)
    sent = {str(read(path.read_bytes()).SOPInstanceUID): path.read_bytes() for path in storescp.files()}
    assert len(sent) == len(sources)
    with Archive(settings) as archive, start_node(archive, collection="RIA-SAMPLES") as node:
        _send_all(dcmtk, node.port, folder)
        assert archive.catalog.instance_count() == len(sources)
        assert archive.catalog.collection_names(principal=OPERATOR) == ["RIA-SAMPLES"]
        report = archive.check(verify_hashes=True)
        assert report.consistent and report.instances == len(sources)
        for source in sources:
            data = source.read_bytes()
            header = read(data)
            row = archive.catalog.instance(str(header.SOPInstanceUID), principal=OPERATOR)
            assert row is not None, source.name
            stored = archive.store.get(row.blob_key)
            assert hashlib.sha256(stored).hexdigest() == row.sha256
            # The data set as sent, bit for bit (the File Meta Information is the receiver's).
            assert _digest(stored) == _digest(sent[str(header.SOPInstanceUID)]), source.name
            assert row.transfer_syntax_uid == str(header.file_meta.TransferSyntaxUID)
        # Sending again: duplicates, success, nothing new.
        _send_all(dcmtk, node.port, folder)
        assert archive.catalog.instance_count() == len(sources)


def test_the_called_ae_title_picks_the_collection(sqlite_archive: Archive, dcmtk: Run) -> None:
    ct = str(find_test_file("CT_small.dcm"))
    mr = str(find_test_file("MR_small.dcm"))
    with start_node(sqlite_archive, collection=None, ae_collections={"LUAD": "TCGA-LUAD"}) as node:
        port = str(node.port)
        assert dcmtk("storescu", "-aec", "LUAD", "127.0.0.1", port, ct).returncode == 0
        refused = dcmtk("storescu", "-d", "-aec", "OTHER", "127.0.0.1", port, mr)
    assert "0x0124: Refused: Not authorized" in refused.stdout + refused.stderr
    assert sqlite_archive.catalog.collection_names(principal=OPERATOR) == ["TCGA-LUAD"]
    assert sqlite_archive.catalog.instance_count() == 1


def test_a_deidentifying_collection_without_a_stored_map_refuses_and_stores_nothing(
    sqlite_archive: Archive, dcmtk: Run, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite_archive.require_deidentification("TCGA-LUAD", "tcia")
    with start_node(sqlite_archive, collection="TCGA-LUAD") as node:
        result = dcmtk(
            "storescu", "-d", "-aec", "RIA", "127.0.0.1", str(node.port), str(find_test_file("CT_small.dcm"))
        )
    output = result.stdout + result.stderr
    assert "Store Response" in output and "Success" not in output.split("Store Response")[1].splitlines()[0]
    assert sqlite_archive.catalog.instance_count() == 0
    assert sqlite_archive.quarantine.list() == []
    assert not list(sqlite_archive.store.iter_keys())
    assert any(
        "requires de-identification but has no stored ID map" in r.getMessage() for r in caplog.records
    )


def test_a_conflicting_instance_is_refused_with_a_failure_status(
    sqlite_archive: Archive, dcmtk: Run, tmp_path: Path
) -> None:
    original = find_test_file("CT_small.dcm")
    sqlite_archive.ingest([original], "TCGA-LUAD")
    changed = tmp_path / "changed.dcm"
    dataset = pydicom.dcmread(original)
    dataset.StudyDescription = "changed"
    dataset.save_as(changed, enforce_file_format=True)
    with start_node(sqlite_archive) as node:
        result = dcmtk("storescu", "-d", "-aec", "RIA", "127.0.0.1", str(node.port), str(changed))
    assert "DIMSE Status                  : 0xc001" in result.stdout + result.stderr
    assert sqlite_archive.catalog.instance_count() == 1
