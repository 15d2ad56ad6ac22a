"""C-STORE in batches: many instances over one association, and a listener killed mid-association.

storescu (dcmtk) sends real generated DICOM; what must be catalogued comes from reading
the sent files with pydicom and from storescu's own report of which instances it got a
Success status for — never from the node's output.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.dicom.uids import derive_uid
from ria.sample import find_test_file, generate_corpus
from ria.settings import Settings
from tests.dimse.conftest import Run, dcmtk_tool, free_port, start_node

RIA = [sys.executable, "-c", "from ria.cli.main import main; main()"]


def _corpus(root: Path, count: int) -> list[Path]:
    generate_corpus(root, count, series_size=50, series_per_patient=2, seed="dimse-batches")
    return sorted(root.rglob("*.dcm"))


def _uids(paths: list[Path]) -> set[str]:
    return {str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID) for path in paths}


def test_storescu_of_250_instances_on_one_association_lands_every_one(
    settings: Settings, tmp_path: Path, dcmtk: Run
) -> None:
    files = _corpus(tmp_path / "corpus", 250)
    with Archive(settings) as archive, start_node(archive, collection="TCGA-LUAD", store_batch=100) as node:
        result = dcmtk(
            "storescu", "-aec", "RIA", "+sd", "+r", "127.0.0.1", str(node.port), str(tmp_path / "corpus"),
            timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        # Answered before the release was: everything is catalogued once storescu has returned.
        assert archive.catalog.instance_count() == len(files)
        for uid in _uids(files):
            assert archive.catalog.instance(uid, principal=OPERATOR) is not None
        report = archive.check(verify_hashes=True)
        assert report.consistent and report.instances == len(files)
        # Nothing is left in the inbox.
        assert not list((settings.data_dir / "incoming").glob("inbox-*"))


def _listen(tmp_path: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*RIA, "dicom-listen", "--port", str(port), "-c", "TCGA-LUAD", "--store-batch", "100",
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    assert process.stdout is not None
    assert "listening" in process.stdout.readline(), process.stderr.read() if process.stderr else ""
    return process


def _acknowledged(output: str) -> list[str]:
    """The files storescu got a Success status for, from its verbose log (request, then response)."""
    acknowledged = []
    sending: str | None = None
    for line in output.splitlines():
        if match := re.search(r"Sending file: (.+)$", line):
            sending = match.group(1).strip()
        elif "Received Store Response (Success)" in line and sending is not None:
            acknowledged.append(sending)
            sending = None
    return acknowledged


def test_a_listener_killed_mid_association_loses_no_acknowledged_instance(
    tmp_path: Path, database_url: str | None
) -> None:
    """kill -9 the node after 150 Success statuses (a batch of 100 committed, the rest only in its
    inbox); ``ria gc`` with no grace period runs while it is down; the restarted node ingests the
    inbox: every acknowledged instance is catalogued and ``ria check`` finds the archive consistent."""
    files = _corpus(tmp_path / "corpus", 300)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    if database_url:
        env["RIA_DATABASE_URL"] = database_url
    port = free_port()
    listener = _listen(tmp_path, port, env)
    sender = subprocess.Popen(
        [dcmtk_tool("storescu"), "-v", "-aec", "RIA", "127.0.0.1", str(port), *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert sender.stdout is not None
    lines: list[str] = []
    try:
        for line in sender.stdout:
            lines.append(line)
            if sum("Store Response (Success)" in seen for seen in lines) == 150:
                listener.send_signal(signal.SIGKILL)
                break
        lines.extend(sender.stdout.read().splitlines(keepends=True))
        sender.wait(timeout=60)
    finally:
        for process in (listener, sender):
            if process.poll() is None:
                process.kill()
            process.communicate()
    acknowledged = _acknowledged("".join(lines))
    assert 150 <= len(acknowledged) < len(files), "the listener was not killed mid-association"
    data = ["--data-dir", str(tmp_path / "data")]
    gc = subprocess.run([*RIA, "gc", "--grace-seconds", "0", *data], env=env, capture_output=True, text=True)
    assert gc.returncode == 0, gc.stderr
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, workers=1)
    with Archive(settings) as archive:  # acknowledged but not yet catalogued: only in the inbox
        assert archive.catalog.instance_count() < len(acknowledged)
    restarted = _listen(tmp_path, free_port(), env)  # recovers the dead association's inbox first
    restarted.send_signal(signal.SIGINT)
    restarted.communicate(timeout=60)
    check = subprocess.run([*RIA, "check", *data], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with Archive(settings) as archive:
        for uid in _uids([Path(path) for path in acknowledged]):
            assert archive.catalog.instance(uid, principal=OPERATOR) is not None, uid
        assert archive.check().consistent
        assert archive.catalog.instance_count() >= len(acknowledged)
    assert not list((tmp_path / "data" / "incoming").glob("inbox-*"))


@pytest.mark.parametrize("batch", [0, -1])
def test_store_batch_must_be_positive(batch: int) -> None:
    from ria.dimse import NodeConfig
    from ria.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="store_batch"):
        NodeConfig("RIA", 0, store_batch=batch)


def test_an_instance_refused_only_by_its_batch_is_kept_not_lost(
    archive: Archive, tmp_path: Path, dcmtk: Run, caplog: pytest.LogCaptureFixture
) -> None:
    """A study UID already filed under another patient: C-STORE acknowledged it (only the batch can tell),
    so the batch's refusal keeps the file under incoming/refused/ and logs why."""
    original = find_test_file("CT_small.dcm")
    archive.ingest([original], "TCGA-LUAD")
    other = tmp_path / "other-patient.dcm"
    dataset = pydicom.dcmread(original)
    dataset.PatientID = "SOMEONE-ELSE"
    dataset.SOPInstanceUID = derive_uid("store-batches", "other-patient")
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.save_as(other, enforce_file_format=True)
    with start_node(archive) as node:
        result = dcmtk("storescu", "-aec", "RIA", "127.0.0.1", str(node.port), str(other))
    assert result.returncode == 0, result.stderr
    assert archive.catalog.instance(str(dataset.SOPInstanceUID), principal=OPERATOR) is None
    kept = list((archive.settings.data_dir / "incoming" / "refused").rglob("*.dcm"))
    assert len(kept) == 1 and pydicom.dcmread(kept[0]).SOPInstanceUID == dataset.SOPInstanceUID
    assert any("refused when their batch was written" in r.getMessage() for r in caplog.records)
    assert archive.check().consistent
