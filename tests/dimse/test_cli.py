"""``ria dicom-listen`` as a user runs it: bad options are exit 2 with one line; Ctrl-C stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pydicom
import pytest

from ria.sample import find_test_file
from tests.dimse.conftest import Run, free_port

RIA = [sys.executable, "-c", "from ria.cli.main import main; main()"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ae-title", "A\\B"], "invalid AE title"),
        (["--known-ae", "PACS=somewhere"], "expected NAME=HOST:PORT"),
        (["--ae-collection", "LUAD"], "expected NAME=VALUE"),
        (["--collection", "bad/name"], "invalid collection name"),
    ],
)
def test_bad_options_are_exit_2_with_one_line(tmp_path: Path, options: list[str], message: str) -> None:
    result = subprocess.run(
        [*RIA, "dicom-listen", "--port", "11112", "--data-dir", str(tmp_path), *options],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "catalog.sqlite").exists()


def test_a_missing_port_is_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [*RIA, "dicom-listen", "--data-dir", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "--port" in result.stderr


def test_listens_answers_echo_and_stops_on_ctrl_c(tmp_path: Path, dcmtk: Run) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*RIA, "dicom-listen", "--port", str(port), "--ae-title", "ARCHIVE", "-c", "TCGA-LUAD",
         "--known-ae", "PACS=127.0.0.1:11113", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"Ria DICOM node ARCHIVE listening on 127.0.0.1:{port}" in line
        echo = dcmtk("echoscu", "-aec", "ARCHIVE", "127.0.0.1", str(port))
        assert echo.returncode == 0, echo.stderr
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "stopped" in stdout
    # The association was logged: AE titles and counts, nothing from the data.
    assert "association ECHOSCU -> ARCHIVE from 127.0.0.1" in stderr and "1 echo" in stderr


def test_options_are_parsed_into_the_node_config() -> None:
    from ria.dimse.config import NodeConfig, parse_ae_collections, parse_known_aes
    from ria.errors import InvalidParameterError

    assert parse_known_aes(["PACS=10.0.0.5:104", "V6=[::1]:11112"]) == {
        "PACS": ("10.0.0.5", 104),
        "V6": ("::1", 11112),
    }
    assert parse_ae_collections([" LUAD = TCGA-LUAD"]) == {"LUAD": "TCGA-LUAD"}
    for bad in (["PACS=host:99999"], ["PACS=:104"], ["A=h:1", "A=h:2"]):
        with pytest.raises(InvalidParameterError):
            parse_known_aes(bad)
    with pytest.raises(InvalidParameterError, match="invalid AE title"):
        NodeConfig("WAY-TOO-LONG-AE-TITLE", 104)
    config = NodeConfig("RIA", 0, collection="DEFAULT", ae_collections={"LUAD": "TCGA-LUAD"})
    assert config.collection_for("LUAD") == "TCGA-LUAD"
    assert config.collection_for("ANYTHING") == "DEFAULT"


def test_ria_serve_runs_the_dicom_node_beside_http(tmp_path: Path, dcmtk: Run) -> None:
    """``ria serve --dicom-port``: one process, both interfaces, one archive; an instance stored over
    C-STORE is found over DICOMweb."""
    http_port, dicom_port = free_port(), free_port()
    process = subprocess.Popen(
        [*RIA, "serve", "--port", str(http_port), "--dicom-port", str(dicom_port), "--ae-title", "ARCHIVE",
         "--dicom-collection", "TCGA-LUAD", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert f"DICOM node ARCHIVE on port {dicom_port}" in process.stdout.readline()
        base = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "ria serve did not answer HTTP"
            time.sleep(0.1)
        ct = find_test_file("CT_small.dcm")
        stored = dcmtk("storescu", "-aec", "ARCHIVE", "127.0.0.1", str(dicom_port), str(ct))
        assert stored.returncode == 0, stored.stderr
        found = httpx.get(f"{base}/dicomweb/instances", timeout=10).json()
        uid = str(pydicom.dcmread(ct, stop_before_pixels=True).SOPInstanceUID)
        assert [item["00080018"]["Value"][0] for item in found] == [uid]
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
