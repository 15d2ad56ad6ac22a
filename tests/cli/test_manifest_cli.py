"""``ria manifest create`` and ``ria manifest read`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from ria.archive import Archive
from tests.api.truth import corpus_by_collection, read_series
from tests.cli.test_cli import db_args, ria
from tests.conftest import Corpus


def test_create_and_read_back_tcia_and_csv(
    archive: Archive, tmp_path: Path, corpus: Corpus, database_url: str | None
) -> None:
    files = corpus_by_collection(corpus.root)
    for collection, paths in files.items():
        archive.ingest(paths, collection)
    truth = read_series(files)
    data_dir = archive.settings.data_dir
    luad = {s.uid for s in truth.values() if s.collection == "TCGA-LUAD"}

    made = ria(
        "manifest",
        "create",
        "-c",
        "TCGA-LUAD",
        "-o",
        str(tmp_path / "luad.tcia"),
        *db_args(data_dir, database_url),
    )
    assert made.returncode == 0, made.stderr
    assert f"{len(luad)} series" in made.stderr
    lines = (tmp_path / "luad.tcia").read_text().splitlines()
    assert set(lines[6:]) == luad and len(lines) == 6 + len(luad)

    mr = {s.uid for s in truth.values() if s.modality == "MR"}
    as_csv = ria("manifest", "create", "-m", "MR", "--format", "csv", *db_args(data_dir, database_url))
    assert as_csv.returncode == 0, as_csv.stderr
    (tmp_path / "mr.csv").write_text(as_csv.stdout)

    for name, expected in (("luad.tcia", luad), ("mr.csv", mr)):
        read = ria(
            "manifest", "read", str(tmp_path / name), "--json", "--check", *db_args(data_dir, database_url)
        )
        assert read.returncode == 0, read.stderr
        body = json.loads(read.stdout)
        assert set(body["series"]) == expected and body["missing"] == []


def test_read_check_exits_1_when_series_are_missing(tmp_path: Path, database_url: str | None) -> None:
    manifest = tmp_path / "m.tcia"
    manifest.write_text(
        "downloadServerUrl=x\nincludeAnnotation=true\nnoOfrRetry=4\ndatabasketId=m\nmanifestVersion=3.0\nListOfSeriesToDownload=\n1.2.3.4\n"
    )
    assert ria("init", *db_args(tmp_path / "data", database_url)).returncode == 0
    result = ria("manifest", "read", str(manifest), "--check", *db_args(tmp_path / "data", database_url))
    assert result.returncode == 1
    assert result.stdout.strip() == "1.2.3.4"
    assert "1 of 1 series are not in the archive" in result.stderr


def test_a_bad_manifest_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tcia"
    bad.write_text("ListOfSeriesToDownload=\n1.2.3\nnot a uid\n")
    result = ria("manifest", "read", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {bad} line 3: 'not a uid' is not a valid UID"]
