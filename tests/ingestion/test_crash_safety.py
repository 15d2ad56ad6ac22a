"""kill -9 a real `ria ingest` process group mid-way: catalogue and store must agree, a rerun must finish.

The checks here are independent of ``Archive.check``: they read rows with plain SQL
and hash blob files on disk themselves.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from ria.catalog.database import normalise_url
from ria.catalog.schema import instance, series
from ria.sample import generate_corpus

pytestmark = pytest.mark.slow

CORPUS_SIZE = 2000


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash-corpus")
    generate_corpus(root, CORPUS_SIZE, series_size=60, seed="crash")
    return root


def _ria(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from ria.cli.main import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )


def _instances(url: str) -> int:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(instance)).scalar_one())
    except SQLAlchemyError:
        return 0  # schema not created yet
    finally:
        engine.dispose()


def _blob_bytes(blob_root: Path, key: str) -> bytes | None:
    """The stored bytes for ``key``, read straight from disk (pack index or object file)."""
    index = blob_root / "index.sqlite"
    if index.exists():
        with closing(sqlite3.connect(index)) as conn:
            row = conn.execute("SELECT pack, offset, size FROM object WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        with open(blob_root / "packs" / row[0], "rb") as pack:
            pack.seek(row[1])
            return pack.read(row[2])
    path = blob_root / "objects" / key[:2] / key
    return path.read_bytes() if path.is_file() else None


def _stored_keys(blob_root: Path) -> set[str]:
    index = blob_root / "index.sqlite"
    if index.exists():
        with closing(sqlite3.connect(index)) as conn:
            return {key for (key,) in conn.execute("SELECT key FROM object")}
    return {p.name for p in (blob_root / "objects").rglob("*") if p.is_file()}


def _assert_consistent(url: str, blob_root: Path) -> set[str]:
    """No row without its bytes, no size counted for missing bytes; returns referenced keys."""
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        rows = conn.execute(
            select(instance.c.series_pk, instance.c.blob_key, instance.c.size, instance.c.sha256)
        ).all()
        counters = conn.execute(select(series.c.id, series.c.image_count, series.c.file_size)).all()
    engine.dispose()
    per_series: dict[int, list[int]] = {}
    for series_pk, key, size, sha in rows:
        data = _blob_bytes(blob_root, key)
        assert data is not None, f"row for blob {key} has no stored bytes"
        assert len(data) == size
        assert hashlib.sha256(data).hexdigest() == sha == key
        total = per_series.setdefault(series_pk, [0, 0])
        total[0] += 1
        total[1] += size
    for series_pk, count, size in counters:
        assert [count, size] == per_series.get(series_pk, [0, 0]), "series counters disagree with rows"
    return {key for _, key, _, _ in rows}


@pytest.mark.parametrize(
    ("blob_store", "kill_after"), [("pack", 0), ("pack", 300), ("pack", 1000), ("files", 400)]
)
def test_kill_9_mid_ingest_then_rerun_completes(
    big_corpus: Path, tmp_path: Path, database_url: str | None, blob_store: str, kill_after: int
) -> None:
    data_dir = tmp_path / "data"
    url = database_url or f"sqlite:///{data_dir / 'catalog.sqlite'}"
    env = {
        **os.environ,
        "RIA_DATA_DIR": str(data_dir),
        "RIA_DATABASE_URL": url,
        "RIA_BATCH_SIZE": "40",
        "RIA_BLOB_STORE": blob_store,
    }
    args = ["ingest", str(big_corpus), "--collection", "TCGA-LUAD", "--workers", "2"]

    process = _ria(args, env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if kill_after == 0 and any((data_dir / "blobs").glob("packs/*.pack")):
            break  # as soon as it has started writing
        if kill_after and _instances(url) >= kill_after:
            break
        time.sleep(0.02)
    assert process.poll() is None, "ingest finished before it could be killed; make the corpus bigger"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.communicate()

    catalogued = _instances(url)
    assert catalogued < CORPUS_SIZE
    if kill_after:
        assert catalogued >= kill_after
    _assert_consistent(url, data_dir / "blobs")

    rerun = _ria(args, env)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    summary = stdout.decode()
    assert f"{CORPUS_SIZE - catalogued} ingested, {catalogued} duplicate, 0 conflict, 0 rejected" in summary

    referenced = _assert_consistent(url, data_dir / "blobs")
    assert _instances(url) == CORPUS_SIZE
    assert _stored_keys(data_dir / "blobs") == referenced, "the rerun reused every blob the killed run stored"
