"""Archive maintenance: consistency checks and garbage collection, on both blob stores."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from ria.archive import Archive
from ria.settings import Settings
from tests.conftest import Corpus


@pytest.fixture(params=["pack", "files"])
def any_store_archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Archive]:
    with Archive(Settings(data_dir=tmp_path / "data", blob_store=request.param, workers=2)) as archive:
        yield archive


def test_gc_removes_only_unreferenced_objects(any_store_archive: Archive, corpus: Corpus) -> None:
    archive = any_store_archive
    archive.ingest([corpus.root], "TCGA-LUAD")
    stray = archive.store.put(io.BytesIO(b"left behind by an interrupted ingest" * 1000)).key
    assert archive.check().orphan_blobs == 1
    assert archive.collect_garbage(grace_seconds=3600)[0] == 0  # too young to collect
    assert archive.store.exists(stray)
    removed, _ = archive.collect_garbage(grace_seconds=0)
    assert removed == 1
    assert not archive.store.exists(stray)
    report = archive.check(verify_hashes=True)
    assert report.consistent and report.orphan_blobs == 0
    assert report.instances == len(corpus.files)


def test_verify_hashes_catches_silent_corruption(tmp_path: Path, corpus: Corpus) -> None:
    with Archive(Settings(data_dir=tmp_path / "data", workers=2)) as archive:
        archive.ingest([corpus.root], "TCGA-LUAD")
        assert archive.check(verify_hashes=True).consistent
        blobs = tmp_path / "data" / "blobs"
        with closing(sqlite3.connect(blobs / "index.sqlite")) as conn:
            name, offset, size = conn.execute("SELECT pack, offset, size FROM object LIMIT 1").fetchone()
        with open(blobs / "packs" / name, "r+b") as pack:  # flip one byte inside one object
            pack.seek(offset + size // 2)
            byte = pack.read(1)
            pack.seek(offset + size // 2)
            pack.write(bytes([byte[0] ^ 0xFF]))
        assert archive.check().consistent  # sizes still agree...
        damaged = archive.check(verify_hashes=True)
        assert not damaged.consistent  # ...but the content does not
        assert len(damaged.size_mismatches) == 1


def test_orphans_are_found_across_many_pages(
    any_store_archive: Archive, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The constant-memory merge of catalogue keys and store keys, with pages of 7 rows."""
    import ria.archive

    monkeypatch.setattr(ria.archive, "_ROW_PAGE", 7)
    archive = any_store_archive
    archive.ingest([corpus.root], "TCGA-LUAD")
    strays = {archive.store.put(io.BytesIO(f"stray {n}".encode() * 100)).key for n in range(25)}
    report = archive.check()
    assert report.consistent
    assert report.orphan_blobs == len(strays)
    assert archive.collect_garbage(grace_seconds=0)[0] == len(strays)
    assert not any(archive.store.exists(key) for key in strays)
    assert archive.check(verify_hashes=True).instances == len(corpus.files)
