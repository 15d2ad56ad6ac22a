"""A command that only reads never creates an archive: run where there is none, it says so and how
to make one or point at one, exits 1, and leaves nothing behind (issue 16, item 3).

Real processes in an empty folder, with the embedded default and with an empty PostgreSQL database
(no Ria tables), which is no archive either.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from ria.catalog.database import normalise_url
from tests.cli.test_cli import ria

READ_ONLY = (
    ("cohort", "-c", "TCGA-LUAD"),
    ("survival", "--split-by", "mutated:TP53"),
    ("linkage",),
    ("cite", "-c", "TCGA-LUAD"),
    ("collections", "list"),
    ("collections", "show", "TCGA-LUAD"),
    ("collections", "audit"),
    ("accrual",),
    ("manifest", "create", "-c", "TCGA-LUAD"),
    ("genomics", "sources"),
    ("review", "list"),
    ("users", "list"),
    ("check",),
    ("gc",),
)


def _clean_env() -> dict[str, str]:
    """The caller's environment without any RIA_* setting, so only the folder decides."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c[:2]))
def test_a_read_only_command_in_a_folder_without_an_archive(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = ria(*command, env=_clean_env(), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: no Ria archive at {Path('ria-data')}")
    assert "ria demo" in lines[0] and "ria ingest" in lines[0] and "--data-dir" in lines[0]
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_no_archive(tmp_path: Path, postgres_url: str) -> None:
    for command in (("cohort", "-c", "TCGA-LUAD"), ("collections", "list"), ("users", "list")):
        result = ria(*command, "--database-url", postgres_url, env=_clean_env(), cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "no Ria archive at postgresql://" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    engine = create_engine(normalise_url(postgres_url))
    try:
        assert inspect(engine).get_table_names() == []  # nothing was created there either
    finally:
        engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_an_archive_made_by_ingest_is_then_read(tmp_path: Path) -> None:
    from ria.sample.corpus import write_demo_corpus

    corpus = write_demo_corpus(tmp_path / "corpus")
    folder = corpus.folders["TCGA-LUAD"]
    data = ["--data-dir", str(tmp_path / "data")]
    assert ria("ingest", str(folder), "-c", "TCGA-LUAD", *data, env=_clean_env()).returncode == 0
    listed = ria("collections", "list", *data, env=_clean_env())
    assert listed.returncode == 0 and "TCGA-LUAD" in listed.stdout, listed.stderr
