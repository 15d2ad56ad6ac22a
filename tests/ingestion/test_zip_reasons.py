"""Zip files that are not expanded say why: damaged, nested in another zip, or misnamed.

Each case is a real file on disk made with zipfile from the generated corpus; the expected
reason for a damaged archive is what zipfile itself says when asked to open it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ria.archive import Archive
from tests.cli.test_cli import db_args, ria
from tests.conftest import Corpus

NESTED = "a zip archive inside a zip archive is not expanded; unzip it and ingest the folder"
MISNAMED = "a zip archive without a .zip name; rename it to ingest its contents"


def zipped(path: Path, corpus: Corpus, count: int = 2) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for source in corpus.files[:count]:
            zf.write(source, arcname=source.name)
    return path


def zipfile_reason(path: Path) -> str:
    """What zipfile says when opening ``path`` (the test's independent reading)."""
    with pytest.raises(zipfile.BadZipFile) as caught:
        zipfile.ZipFile(path)
    return str(caught.value)


def bad_zips(folder: Path, corpus: Corpus) -> dict[str, str]:
    """Three real files in ``folder``; display name -> the exact reason expected for it."""
    folder.mkdir()
    whole = zipped(folder.parent / "whole.zip", corpus).read_bytes()
    truncated = folder / "truncated.zip"
    truncated.write_bytes(whole[: len(whole) // 2])
    garbage = folder / "garbage.zip"
    garbage.write_bytes(b"not a zip at all\n" * 8)
    outer = folder / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("inner.zip", whole)
        zf.write(corpus.files[0], arcname="plain.dcm")
    misnamed = folder / "upload.bin"
    misnamed.write_bytes(whole)
    return {
        str(truncated): f"corrupt zip archive: {zipfile_reason(truncated)}",
        str(garbage): f"corrupt zip archive: {zipfile_reason(garbage)}",
        f"{outer}!inner.zip": NESTED,
        str(misnamed): MISNAMED,
    }


def test_each_unexpanded_zip_names_what_is_wrong(archive: Archive, corpus: Corpus, tmp_path: Path) -> None:
    expected = bad_zips(tmp_path / "upload", corpus)
    report = archive.ingest([tmp_path / "upload"], "TCGA-LUAD", workers=1)
    assert (report.ingested, report.rejected) == (1, len(expected))  # outer.zip!plain.dcm is fine
    assert {p.source: p.reason for p in report.problems} == expected
    truncated = str(tmp_path / "upload" / "truncated.zip")
    assert expected[truncated] == "corrupt zip archive: File is not a zip file"  # zipfile's words


def test_a_valid_zip_is_still_expanded(archive: Archive, corpus: Corpus, tmp_path: Path) -> None:
    report = archive.ingest([zipped(tmp_path / "ok.zip", corpus)], "TCGA-LUAD", workers=1)
    assert (report.ingested, report.rejected) == (2, 0)


def test_the_cli_prints_each_reason(tmp_path: Path, corpus: Corpus, database_url: str | None) -> None:
    expected = bad_zips(tmp_path / "upload", corpus)
    args = db_args(tmp_path / "data", database_url)
    result = ria("ingest", str(tmp_path / "upload"), "-c", "TCGA-LUAD", *args)
    assert result.returncode == 0, result.stderr
    assert "TCGA-LUAD: 1 ingested, 0 duplicate, 0 conflict, 4 rejected" in result.stdout
    printed = [line.strip() for line in result.stdout.splitlines() if line.startswith("  rejected: ")]
    assert sorted(printed) == sorted(f"rejected: {source}: {reason}" for source, reason in expected.items())
