"""A series ZIP built in Python: checksums recorded at ingest, no checksum pass, corruption caught."""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.download.series import series_zip
from ria.errors import NotFoundError
from ria.settings import Settings
from tests.api.truth import corpus_by_collection, read_series
from tests.conftest import Corpus


@pytest.fixture
def file_archive(tmp_path: Path, corpus: Corpus) -> Iterator[Archive]:
    with Archive(Settings(data_dir=tmp_path / "data", blob_store="files", workers=1)) as archive:
        archive.ingest(corpus_by_collection(corpus.root)["TCGA-LUAD"], "TCGA-LUAD")
        yield archive


def test_ingest_records_crc32_and_md5_of_every_file(file_archive: Archive, corpus: Corpus) -> None:
    truth = read_series({"TCGA-LUAD": corpus_by_collection(corpus.root)["TCGA-LUAD"]})
    for uid, series in truth.items():
        rows = {row.sop_instance_uid: row for row in file_archive.catalog.instances(uid, principal=OPERATOR)}
        for sop, path in series.sops.items():
            data = path.read_bytes()
            assert rows[sop].crc32 == zlib.crc32(data)
            assert rows[sop].md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_dicom_members_carry_their_checksum_up_front(file_archive: Archive, corpus: Corpus) -> None:
    uid = file_archive.catalog.series(principal=OPERATOR)[0].series_instance_uid
    prepared = series_zip(file_archive, uid, include_md5=True, principal=OPERATOR)
    body = b"".join(prepared.chunks(file_archive))
    with zipfile.ZipFile(io.BytesIO(body)) as opened:
        assert opened.testzip() is None
        infos = opened.infolist()
        assert infos[0].filename == "LICENSE" and infos[-1].filename == "md5hashes.csv"
        for info in infos[1:-1]:
            assert info.flag_bits & 0x08 == 0  # sizes and CRC in the local header: no descriptor
        listed = dict(line.split(",") for line in opened.read("md5hashes.csv").decode().splitlines()[1:])
        for info in infos[1:-1]:
            assert listed[info.filename] == hashlib.md5(opened.read(info), usedforsecurity=False).hexdigest()


def test_a_corrupted_blob_fails_the_clients_crc_check(file_archive: Archive) -> None:
    uid = file_archive.catalog.series(principal=OPERATOR)[0].series_instance_uid
    victim = file_archive.catalog.instances(uid, principal=OPERATOR)[0]
    blob = file_archive.settings.data_dir / "blobs" / "objects" / victim.blob_key[:2] / victim.blob_key
    if not blob.exists():
        blob = next((file_archive.settings.data_dir / "blobs").rglob(victim.blob_key))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    body = b"".join(series_zip(file_archive, uid, principal=OPERATOR).chunks(file_archive))
    with zipfile.ZipFile(io.BytesIO(body)) as opened:
        assert opened.testzip() == "00000001.dcm"


def test_unknown_series_is_refused_before_any_byte(file_archive: Archive) -> None:
    with pytest.raises(NotFoundError):
        series_zip(file_archive, "1.2.3.4", principal=OPERATOR)
