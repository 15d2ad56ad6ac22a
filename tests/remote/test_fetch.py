"""fetch_series on a real mirror, SQLite and PostgreSQL: counts from the files written, refusals that
leave the series remote, crash and rerun, and source URLs that must not escape the mirror."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.schema import instance, series
from ria.catalog.search import SeriesFilter
from ria.errors import ConflictError, NotFoundError
from ria.remote import fetch as fetch_module
from ria.remote import fetch_series, mirror_path
from ria.settings import Settings
from tests.remote.conftest import Chosen, Written, write_series


def series_state(archive: Archive, uid: str) -> tuple[bool, int, int, str | None]:
    row = archive.catalog.series(SeriesFilter(series_instance_uid=uid), principal=OPERATOR)[0]
    return row.is_remote, row.image_count, row.file_size, row.source_url


def instance_rows(archive: Archive, uid: str) -> int:
    with archive.engine.connect() as conn:
        query = (
            select(func.count())
            .select_from(instance.join(series, instance.c.series_pk == series.c.id))
            .where(series.c.series_instance_uid == uid)
        )
        return int(conn.execute(query).scalar_one())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "s3://idc-open-data/0d7404d3-e9c8-45de-b0eb-b0fdb4c4e97a/*",
            "idc-open-data/0d7404d3-e9c8-45de-b0eb-b0fdb4c4e97a",
        ),
        ("gs://public-datasets-idc/0d7404d3/*", "public-datasets-idc/0d7404d3"),
        ("s3://bucket.name/a/b_c/d-e.f/", "bucket.name/a/b_c/d-e.f"),
        ("s3://idc-open-data/../etc/*", None),
        ("s3://idc-open-data/uuid/../../etc/*", None),
        ("s3://idc-open-data/./uuid/*", None),
        ("s3://idc-open-data//etc/*", None),
        ("s3:///etc/*", None),
        ("s3://../etc/*", None),
        ("file:///etc/*", None),
        ("https://idc-open-data.s3.amazonaws.com/uuid/*", None),
        ("s3://idc-open-data/uuid/*?versionId=1", None),
        ("s3://idc-open-data/uu\nid/*", None),
        ("s3://idc-open-data/.hidden/*", None),
        ("s3://idc-open-data/uuid\\..\\x/*", None),
        ("", None),
    ],
)
def test_mirror_path_allow_lists_the_template(tmp_path: Path, url: str, expected: str | None) -> None:
    settings = Settings(data_dir=tmp_path, remote_root=tmp_path / "mirror")
    found = mirror_path(settings, url)
    assert found == (None if expected is None else tmp_path / "mirror" / expected)
    if found is not None:
        assert found.resolve().is_relative_to((tmp_path / "mirror").resolve())
    assert mirror_path(Settings(data_dir=tmp_path), url) is None


def test_fetch_makes_the_series_local(
    fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[0]
    files = mirrored[target.series_uid]
    assert series_state(fetcher, target.series_uid)[:2] == (True, target.image_count)

    report = fetch_series(fetcher, target.series_uid)

    size = sum(w.path.stat().st_size for w in files)
    assert (report.files, report.ingested, report.duplicate) == (len(files), len(files), 0)
    assert (report.image_count, report.file_size, report.expected) == (len(files), size, target.image_count)
    assert not report.count_mismatch and not report.already_local
    assert report.folder == fetcher.settings.remote_root / target.key  # type: ignore[operator]
    assert series_state(fetcher, target.series_uid) == (False, len(files), size, target.source_url)
    stored = fetcher.catalog.instances(target.series_uid, principal=OPERATOR)
    assert {row.sop_instance_uid for row in stored} == {w.sop_uid for w in files}
    digests = {hashlib.sha256(w.path.read_bytes()).hexdigest() for w in files}
    assert {row.blob_key for row in stored} == digests
    assert fetcher.check(verify_hashes=True).consistent
    # The other chosen series is untouched, still remote with the index's counts.
    assert series_state(fetcher, chosen[1].series_uid)[:2] == (True, chosen[1].image_count)

    again = fetch_series(fetcher, target.series_uid)
    assert again.already_local and again.ingested == 0
    assert series_state(fetcher, target.series_uid) == (False, len(files), size, target.source_url)
    assert instance_rows(fetcher, target.series_uid) == len(files)


def test_a_file_of_another_series_refuses_the_whole_series(
    fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[0]
    before = series_state(fetcher, target.series_uid)
    folder = fetcher.settings.remote_root / target.key  # type: ignore[operator]
    stray = write_series(folder / "extra", target, 1, series_uid=chosen[1].series_uid)[0]
    (folder / "notes.txt").write_text("not DICOM\n")
    with pytest.raises(ConflictError) as caught:
        fetch_series(fetcher, target.series_uid)
    message = caught.value.message
    assert f"extra/{stray.path.name}: belongs to series {chosen[1].series_uid}" in message
    assert "notes.txt" in message and "2 of" in message and "stays remote" in message
    assert series_state(fetcher, target.series_uid) == before and before[:2] == (True, target.image_count)
    assert instance_rows(fetcher, target.series_uid) == 0
    assert not list(fetcher.store.iter_keys())

    stray.path.unlink()
    (folder / "notes.txt").unlink()
    assert fetch_series(fetcher, target.series_uid).image_count == len(mirrored[target.series_uid])


def test_a_file_of_another_patient_or_study_is_refused(
    fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[0]
    folder = fetcher.settings.remote_root / target.key  # type: ignore[operator]
    other_patient = Chosen(target.series_uid, target.study_uid, chosen[1].patient_id, target.source_url, 1)
    write_series(folder, other_patient, 1)
    with pytest.raises(ConflictError, match="PatientID differs"):
        fetch_series(fetcher, target.series_uid)
    assert series_state(fetcher, target.series_uid)[0] is True


def test_count_mismatch_is_an_error_unless_allowed(
    fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]]
) -> None:
    target = chosen[0]
    files = mirrored[target.series_uid]
    files[-1].path.unlink()
    with pytest.raises(ConflictError) as caught:
        fetch_series(fetcher, target.series_uid)
    assert f"holds {len(files) - 1} instances, the index lists {target.image_count}" in caught.value.message
    assert "--allow-count-mismatch" in caught.value.message
    assert (
        series_state(fetcher, target.series_uid)[0] is True and instance_rows(fetcher, target.series_uid) == 0
    )

    report = fetch_series(fetcher, target.series_uid, allow_count_mismatch=True)
    assert report.count_mismatch and (report.image_count, report.expected) == (
        len(files) - 1,
        target.image_count,
    )
    assert series_state(fetcher, target.series_uid)[:2] == (False, len(files) - 1)
    assert fetcher.check().consistent


def test_a_crash_leaves_the_series_remote_and_a_rerun_completes_it(
    fetcher: Archive,
    chosen: list[Chosen],
    mirrored: dict[str, list[Written]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = chosen[0]
    files = mirrored[target.series_uid]
    # A crash after some batches were committed: part of the files filed under the remote series.
    assert fetcher.ingest([w.path for w in files[:2]], "TCGA-CHOL", workers=1).ingested == 2
    assert series_state(fetcher, target.series_uid)[:2] == (True, target.image_count)
    assert fetcher.check().consistent

    # A crash between the last batch and the promotion.
    def crash(*_: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(fetch_module, "promote_to_local", crash)
    with pytest.raises(RuntimeError):
        fetch_series(fetcher, target.series_uid)
    assert series_state(fetcher, target.series_uid)[:2] == (True, target.image_count)
    assert instance_rows(fetcher, target.series_uid) == len(files)
    monkeypatch.undo()

    report = fetch_series(fetcher, target.series_uid)
    assert (report.ingested, report.duplicate, report.image_count) == (0, len(files), len(files))
    assert series_state(fetcher, target.series_uid)[:3] == (
        False,
        len(files),
        sum(w.path.stat().st_size for w in files),
    )
    assert fetcher.check(verify_hashes=True).consistent


def test_unsafe_or_missing_sources_are_refused(
    fetcher: Archive, chosen: list[Chosen], mirrored: dict[str, list[Written]], tmp_path: Path
) -> None:
    target = chosen[0]
    # A folder the traversal would reach, holding the right files: still refused.
    escaped = tmp_path / "escaped"
    write_series(escaped, target, target.image_count)
    with fetcher.engine.begin() as conn:
        conn.execute(
            update(series)
            .where(series.c.series_instance_uid == target.series_uid)
            .values(source_url="s3://idc-open-data/../escaped/*")
        )
    with pytest.raises(ConflictError, match="not one a mirror serves"):
        fetch_series(fetcher, target.series_uid)
    assert (
        series_state(fetcher, target.series_uid)[0] is True and instance_rows(fetcher, target.series_uid) == 0
    )

    # A remote series with no folder in the mirror, and a series that is not catalogued at all.
    with pytest.raises(ConflictError, match="not in the mirror"):
        fetch_series(fetcher, _unmirrored(fetcher, mirrored))
    with pytest.raises(NotFoundError):
        fetch_series(fetcher, "1.2.3.4.5")


def _unmirrored(archive: Archive, mirrored: dict[str, list[Written]]) -> str:
    """A remote TCGA-CHOL series the mirror does not hold."""
    rows = archive.catalog.series(SeriesFilter(collection="TCGA-CHOL"), principal=OPERATOR)
    return next(row.series_instance_uid for row in rows if row.series_instance_uid not in mirrored)
