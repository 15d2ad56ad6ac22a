"""A curator's decisions (``archive.quarantine``): release into the catalogue, reject, unknown IDs, races.

Both databases. Held instances are pydicom's real images declaring burned-in text
(tests.ingestion.held); what release must catalogue is read from the files with
pydicom, hashlib and zlib.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from sqlalchemy import Engine, select

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.quarantine import Quarantine
from ria.catalog.records import InstanceRecord, Outcome, WriteResult
from ria.catalog.schema import instance, patient, series
from ria.catalog.writer import CatalogWriter
from ria.errors import InvalidParameterError
from tests.conftest import Corpus
from tests.ingestion.held import HeldFile, HoldBurnedIn, burned_in_copy, burned_in_ct, rewrite


def _series_counts(archive: Archive) -> dict[str, tuple[int, int]]:
    with archive.engine.connect() as conn:
        rows = conn.execute(select(series.c.series_instance_uid, series.c.image_count, series.c.file_size))
        return {uid: (count, size) for uid, count, size in rows}


def _instance_row(archive: Archive, sop: str) -> tuple[str, int, str, str | None, int | None] | None:
    with archive.engine.connect() as conn:
        row = conn.execute(
            select(
                instance.c.blob_key, instance.c.size, instance.c.sha256, instance.c.md5, instance.c.crc32
            ).where(instance.c.sop_instance_uid == sop)
        ).one_or_none()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


def _hold(archive: Archive, *files: HeldFile, collection: str = "TCGA-LUAD") -> list[int]:
    report = archive.ingest([f.path for f in files], collection, deidentify=HoldBurnedIn(), workers=1)
    assert report.quarantined == len(files), report.summary()
    by_sop = {h.sop_instance_uid: h.id for h in archive.quarantine.list()}
    return [by_sop[f.sop_uid] for f in files]


def test_release_catalogues_held_instances_with_their_counts_and_bytes(
    archive: Archive, corpus: Corpus, tmp_path: Path
) -> None:
    luad = corpus.root / "TCGA-LUAD"
    archive.ingest([luad], "TCGA-LUAD")
    first = sorted(luad.rglob("*.dcm"))[0]
    same_series = burned_in_copy(first, tmp_path / "held" / "a.dcm")
    own_series = burned_in_ct(tmp_path / "held" / "b.dcm")
    ids = _hold(archive, same_series, own_series)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_series = Counter(
            str(pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID) for p in luad.rglob("*.dcm")
        )
    sizes: Counter[str] = Counter()
    for path in luad.rglob("*.dcm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sizes[str(pydicom.dcmread(path, stop_before_pixels=True).SeriesInstanceUID)] += (
                path.stat().st_size
            )
    before = _series_counts(archive)
    assert before[same_series.series_uid] == (
        in_series[same_series.series_uid],
        sizes[same_series.series_uid],
    )
    assert own_series.series_uid not in before

    results = archive.quarantine.release(reversed(ids))  # any order in, ID order out
    assert [(r.id, r.outcome, r.sop_instance_uid, r.released) for r in results] == [
        (ids[0], Outcome.INGESTED, same_series.sop_uid, True),
        (ids[1], Outcome.INGESTED, own_series.sop_uid, True),
    ]
    assert archive.quarantine.list() == []
    after = _series_counts(archive)
    assert after[same_series.series_uid] == (
        in_series[same_series.series_uid] + 1,
        sizes[same_series.series_uid] + same_series.size,
    )
    assert after[own_series.series_uid] == (1, own_series.size)
    for held in (same_series, own_series):
        row = _instance_row(archive, held.sop_uid)
        assert row == (held.sha256, held.size, held.sha256, held.md5, held.crc32)
        assert archive.store.get(held.sha256) == held.data
    with archive.engine.connect() as conn:
        patients = set(conn.execute(select(patient.c.patient_id)).scalars())
    assert own_series.patient_id in patients
    check = archive.check(verify_hashes=True)
    assert check.consistent and (check.held, check.orphan_blobs) == (0, 0)

    with pytest.raises(InvalidParameterError, match=f"ID {ids[0]}"):
        archive.quarantine.release([ids[0]])  # released: no longer held
    again = archive.ingest([same_series.path], "TCGA-LUAD", deidentify=HoldBurnedIn())
    assert (again.duplicate, again.quarantined) == (1, 0)  # released instances stay released


def test_release_that_conflicts_keeps_the_instance_held(archive: Archive, tmp_path: Path) -> None:
    held = burned_in_ct(tmp_path / "held" / "x.dcm", patient_id="TCGA-HL-0001")
    [held_id] = _hold(archive, held)
    # Another patient's instance claims the held instance's study first (holding claims nothing).
    claim = rewrite(
        held.path,
        tmp_path / "other" / "y.dcm",
        burned_in="NO",
        PatientID="TCGA-HL-0002",
        SOPInstanceUID=generate_uid(),
    )
    assert archive.ingest([claim.path], "TCGA-LUAD").ingested == 1

    [result] = archive.quarantine.release([held_id])
    assert (result.outcome, result.released) == (Outcome.CONFLICT, False)
    assert "different patient" in (result.reason or "")
    assert [h.id for h in archive.quarantine.list()] == [held_id]
    assert _instance_row(archive, held.sop_uid) is None
    assert archive.check().consistent


def test_unknown_ids_are_refused_before_anything_changes(archive: Archive, tmp_path: Path) -> None:
    held = burned_in_ct(tmp_path / "held" / "x.dcm")
    [held_id] = _hold(archive, held)
    unknown = held_id + 1000
    for decide in (archive.quarantine.release, archive.quarantine.reject):
        with pytest.raises(InvalidParameterError, match=f"under ID {unknown} ") as raised:
            decide([held_id, unknown])
        assert raised.value.exit_code == 2 and raised.value.details["ids"] == [unknown]
        assert [h.id for h in archive.quarantine.list()] == [held_id]
    with pytest.raises(InvalidParameterError, match="IDs 1001, 1002"):
        archive.quarantine.reject([1002, 1001, held_id, 1001])
    assert _instance_row(archive, held.sop_uid) is None


def test_a_held_object_missing_from_the_store_stays_held_and_check_reports_it(
    archive: Archive, tmp_path: Path
) -> None:
    held = burned_in_ct(tmp_path / "held" / "x.dcm")
    [held_id] = _hold(archive, held)
    archive.store.delete(held.sha256)
    [result] = archive.quarantine.release([held_id])
    assert (result.outcome, result.released) == (Outcome.REJECTED, False)
    assert "cannot be read" in (result.reason or "")
    assert [h.id for h in archive.quarantine.list()] == [held_id]
    check = archive.check()
    assert not check.consistent and check.missing_blobs == [held.sop_uid]


class _Interfering(CatalogWriter):
    """A writer that lets another curator act just before each batch is written."""

    def __init__(self, engine: Engine, before: Callable[[], object]) -> None:
        super().__init__(engine)
        self._before = before

    def write_batch(
        self,
        collection_name: str,
        records: Sequence[InstanceRecord],
        *,
        releasing: Mapping[str, int] | None = None,
    ) -> list[WriteResult]:
        self._before()
        return super().write_batch(collection_name, records, releasing=releasing)


@pytest.mark.parametrize("other", ["release", "reject"])
def test_a_concurrent_decision_wins_and_nothing_is_lost_or_doubled(
    archive: Archive, tmp_path: Path, other: str
) -> None:
    held = burned_in_ct(tmp_path / "held" / "x.dcm")
    [held_id] = _hold(archive, held)
    rival = getattr(archive.quarantine, other)
    racing = Quarantine(
        archive.engine, archive.store, lambda: _Interfering(archive.engine, lambda: rival([held_id]))
    )
    [result] = racing.release([held_id])
    assert archive.quarantine.list() == []
    if other == "release":  # the other curator released it: this release is a duplicate of theirs
        assert (result.outcome, result.released) == (Outcome.DUPLICATE, True)
        assert _instance_row(archive, held.sop_uid) is not None
    else:  # rejected meanwhile: it must not be served
        assert (result.outcome, result.released) == (Outcome.REJECTED, False)
        assert "rejected meanwhile" in (result.reason or "")
        assert _instance_row(archive, held.sop_uid) is None
    assert archive.check().consistent


def test_release_all_of_a_collection_and_the_notebook_api(archive: Archive, tmp_path: Path) -> None:
    luad = [burned_in_ct(tmp_path / "l" / f"{n}.dcm", patient_id="TCGA-HL-0001") for n in range(3)]
    brca = burned_in_ct(tmp_path / "b" / "0.dcm", patient_id="TCGA-HL-0009")
    _hold(archive, *luad)
    [brca_id] = _hold(archive, brca, collection="TCGA-BRCA")
    assert [h.sop_instance_uid for h in archive.quarantine.list("TCGA-LUAD")] == [f.sop_uid for f in luad]
    results = archive.quarantine.release(archive.quarantine.ids("TCGA-LUAD"))
    assert [r.outcome for r in results] == [Outcome.INGESTED] * 3
    assert archive.catalog.collection_names(principal=OPERATOR) == ["TCGA-LUAD"]
    assert [h.id for h in archive.quarantine.list()] == [brca_id]
    assert archive.quarantine.release([]) == [] and archive.quarantine.reject([]) == []
