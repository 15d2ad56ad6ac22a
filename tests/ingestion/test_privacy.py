"""Patient names never reach logs, reports or CLI output, whatever the outcome."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import pydicom
import pytest

from ria.archive import Archive
from ria.settings import Settings
from tests.conftest import Corpus

NAME = "Zyxwv^Qponml"


def _named(source: Path, target: Path, **changes: str) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(source)
        ds.PatientName = NAME
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target, enforce_file_format=True)
    return target


def test_no_patient_name_in_logs_reports_or_output(
    tmp_path: Path, corpus: Corpus, caplog: pytest.LogCaptureFixture
) -> None:
    source = corpus.files[0]
    named = _named(source, tmp_path / "in" / "named.dcm")
    altered = _named(source, tmp_path / "in2" / "altered.dcm", SeriesDescription="changed")
    truncated = tmp_path / "in3" / "cut.dcm"
    truncated.parent.mkdir()
    truncated.write_bytes(named.read_bytes()[:-50])
    caplog.set_level(logging.DEBUG)
    with Archive(Settings(data_dir=tmp_path / "data", workers=1)) as archive:
        reports = [archive.ingest([p.parent], "TCGA-LUAD") for p in (named, named, altered, truncated)]
    assert [(r.ingested, r.duplicate, r.conflict, r.rejected) for r in reports] == [
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (0, 0, 1, 0),
        (0, 0, 0, 1),
    ]
    written = "".join(r.path.read_text() for r in reports if r.path)
    cli = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ria.cli.main import main; main()",
            "-v",
            "ingest",
            str(tmp_path / "in2"),
            "-c",
            "TCGA-LUAD",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for text in (caplog.text, written, cli.stdout, cli.stderr):
        assert "Zyxwv" not in text and "Qponml" not in text
    assert "conflict" in written and "truncated" in written  # the reports did say what happened
