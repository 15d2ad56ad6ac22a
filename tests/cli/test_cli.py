"""The `ria` command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ria.sample import find_test_file, write_demo_corpus
from tests.api.conftest import free_port
from tests.conftest import Corpus, read_corpus

RIA = [sys.executable, "-c", "from ria.cli.main import main; main()"]


def ria(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RIA, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def db_args(data_dir: Path, database_url: str | None) -> list[str]:
    return ["--data-dir", str(data_dir)] + (["--database-url", database_url] if database_url else [])


def test_ingest_prints_the_report_and_exits_0(
    tmp_path: Path, corpus: Corpus, database_url: str | None
) -> None:
    result = ria("ingest", str(corpus.root), "--collection", "TCGA-LUAD", *db_args(tmp_path, database_url))
    assert result.returncode == 0, result.stderr
    assert f"TCGA-LUAD: {len(corpus.files)} ingested, 0 duplicate, 0 conflict, 0 rejected" in result.stdout
    listing = ria("collections", "list", "--json", *db_args(tmp_path, database_url))
    rows = json.loads(listing.stdout)
    assert [(r["name"], r["instances"], r["patients"]) for r in rows] == [
        ("TCGA-LUAD", len(corpus.sop_uids), len(corpus.patients))
    ]


def test_json_report(tmp_path: Path, corpus: Corpus) -> None:
    result = ria("ingest", str(corpus.files[0]), "-c", "TCGA-LUAD", "--json", "--data-dir", str(tmp_path))
    body = json.loads(result.stdout)
    assert (body["ingested"], body["rejected"], body["collection"]) == (1, 0, "TCGA-LUAD")
    assert Path(body["report"]).is_file()


def test_strict_turns_rejections_into_exit_1(tmp_path: Path) -> None:
    bad = find_test_file("MR_truncated.dcm")
    relaxed = ria("ingest", str(bad), "-c", "TCGA-LUAD", "--data-dir", str(tmp_path))
    assert relaxed.returncode == 0
    assert "rejected" in relaxed.stdout and "truncated" in relaxed.stdout
    strict = ria("ingest", str(bad), "-c", "TCGA-LUAD", "--strict", "--data-dir", str(tmp_path))
    assert strict.returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "/no/such/folder", "-c", "TCGA-LUAD"], "no such file or folder"),
        (["ingest", ".", "-c", "../../etc"], "invalid collection name"),
    ],
)
def test_bad_usage_is_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = ria(*args, "--data-dir", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_unknown_option_is_exit_2(tmp_path: Path) -> None:
    assert ria("ingest", "--bogus", "--data-dir", str(tmp_path)).returncode == 2
    assert ria("ingest", str(tmp_path)).returncode == 2  # --collection is required


def test_invalid_database_url_is_exit_2(tmp_path: Path) -> None:
    result = ria("init", "--data-dir", str(tmp_path), "--database-url", "nonsense")
    assert result.returncode == 2
    assert "database URL" in result.stderr


def test_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://ria:s3cret@127.0.0.1:1/none"  # nothing listens on port 1
    result = ria("init", "--data-dir", str(tmp_path), "--database-url", url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open the catalogue at postgresql")
    assert "s3cret" not in result.stderr + result.stdout


def test_unusable_data_folder_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = ria("init", "--data-dir", str(blocker / "data"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot create the data folder")


def test_environment_variables_choose_the_archive(tmp_path: Path, corpus: Corpus) -> None:
    env = {**os.environ, "RIA_DATA_DIR": str(tmp_path / "from-env")}
    assert ria("ingest", str(corpus.files[0]), "-c", "TCGA-LUAD", env=env).returncode == 0
    assert (tmp_path / "from-env" / "catalog.sqlite").is_file()


def test_default_data_dir_is_ria_data_in_the_working_folder(tmp_path: Path, corpus: Corpus) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    assert ria("ingest", str(corpus.files[0]), "-c", "TCGA-LUAD", env=env, cwd=tmp_path).returncode == 0
    assert (tmp_path / "ria-data" / "catalog.sqlite").is_file()


def test_check_finds_a_missing_blob(tmp_path: Path, corpus: Corpus) -> None:
    ria("ingest", str(corpus.root), "-c", "TCGA-LUAD", "--data-dir", str(tmp_path))
    assert ria("check", "--data-dir", str(tmp_path)).returncode == 0
    for pack in (tmp_path / "blobs" / "packs").glob("*.pack"):
        pack.unlink()
    result = ria("check", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert f"missing blobs: {len(corpus.files)}" in result.stdout


def test_check_finds_a_missing_file_in_the_files_store(tmp_path: Path, corpus: Corpus) -> None:
    env = {**os.environ, "RIA_BLOB_STORE": "files"}
    ria("ingest", str(corpus.root), "-c", "TCGA-LUAD", "--data-dir", str(tmp_path), env=env)
    victim = next(p for p in (tmp_path / "blobs" / "objects").rglob("*") if p.is_file())
    victim.unlink()
    result = ria("check", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "missing blobs: 1" in result.stdout


def test_demo_builds_the_sample_archive_idempotently(tmp_path: Path) -> None:
    """The demo files the sample images, the whole real TCGA catalogue and the packaged lung tables."""
    import csv
    import gzip
    from importlib.resources import files

    import duckdb
    import idc_index_data

    corpus = write_demo_corpus(tmp_path / "expected")
    expected = read_corpus(corpus.root)
    index = {
        name: (int(series), int(instances))
        for name, series, instances in duckdb.sql(
            "select upper(replace(collection_id, '_', '-')), count(*), sum(instanceCount) "
            f"from '{idc_index_data.IDC_INDEX_PARQUET_FILEPATH}' where collection_id like 'tcga_%' group by 1"
        ).fetchall()
    }
    data = tmp_path / "demo-data"
    first = ria("demo", "--no-serve", "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    rows = {
        r["name"]: r for r in json.loads(ria("collections", "list", "--json", "--data-dir", str(data)).stdout)
    }
    assert set(rows) == set(index) and {"TCGA-LUAD", "TCGA-BRCA"} <= set(rows)
    local = dict.fromkeys(rows, 0)
    local.update({name: len(list(folder.rglob("*.dcm"))) for name, folder in corpus.folders.items()})
    assert sum(local.values()) == len(expected.sop_uids)
    for name, (_series, instances) in index.items():
        assert rows[name]["instances"] == instances + local[name], name
    packaged = files("ria.sample") / "data" / "tcga_lung_mutations_by_gene.csv.gz"
    with gzip.open(str(packaged), "rt") as handle:
        mutations = list(csv.DictReader(handle))
    sources = json.loads(ria("genomics", "sources", "--json", "--data-dir", str(data)).stdout)
    assert (sources[0]["name"], sources[0]["rows_stored"]) == (
        "tcga_lung_mutations_by_gene.csv.gz",
        len(mutations),
    )
    protein_altering = {
        "Missense_Mutation",
        "Nonsense_Mutation",
        "Frame_Shift_Del",
        "Frame_Shift_Ins",
        "In_Frame_Del",
        "In_Frame_Ins",
        "Splice_Site",
        "Translation_Start_Site",
        "Nonstop_Mutation",
    }
    kras = {
        m["patient"]
        for m in mutations
        if m["gene"] == "KRAS" and m["variant_classification"] in protein_altering
    }
    cohort = ria(
        "cohort",
        "-c",
        "TCGA-LUAD",
        "-m",
        "CT",
        "--mutated",
        "KRAS",
        "--format",
        "csv",
        "--data-dir",
        str(data),
    )
    assert cohort.returncode == 0, cohort.stderr
    found = {r["PatientID"] for r in csv.DictReader(cohort.stdout.splitlines())}
    local_luad = {
        p for p in expected.patients if p.startswith("TCGA-05-")
    }  # the CT files' real LUAD barcodes
    assert found <= kras
    assert local_luad & kras and local_luad & kras <= found
    second = ria("demo", "--no-serve", "--data-dir", str(data))
    assert " 0 ingested" in second.stdout and "0 conflict" in second.stdout
    assert "0 series added" in second.stdout


def test_serve_answers_over_http(tmp_path: Path, corpus: Corpus) -> None:
    shutil.copytree(corpus.root / "TCGA-BRCA", tmp_path / "in")
    ria("ingest", str(tmp_path / "in"), "-c", "TCGA-BRCA", "--data-dir", str(tmp_path / "d"))
    port = free_port()
    process = subprocess.Popen(
        [*RIA, "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/nbia-api/services/v1/getCollectionValues")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert response.json() == [{"Collection": "TCGA-BRCA"}]
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in stdout
