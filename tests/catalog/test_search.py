"""The query model on both databases, against an independent pydicom read of the ingested files."""

from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import pydicom
import pytest

import ria.catalog.streaming
from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog import SeriesFilter, to_dataframe
from tests.conftest import Corpus


def _truth(root: Path, collection: str) -> dict[str, dict[str, object]]:
    """series UID → what pydicom says about it, plus instance count and bytes."""
    series: dict[str, dict[str, object]] = defaultdict(lambda: {"count": 0, "bytes": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(root.rglob("*.dcm")):
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            entry = series[str(ds.SeriesInstanceUID)]
            entry.update(
                collection=collection,
                patient=str(ds.PatientID),
                study=str(ds.StudyInstanceUID),
                modality=str(ds.Modality),
                manufacturer=str(ds.get("Manufacturer") or "") or None,
                body_part=str(ds.get("BodyPartExamined") or "") or None,
            )
            entry["count"] = int(entry["count"]) + 1  # type: ignore[call-overload]
            entry["bytes"] = int(entry["bytes"]) + path.stat().st_size  # type: ignore[call-overload]
    return dict(series)


@pytest.fixture
def filled(archive: Archive, corpus: Corpus) -> tuple[Archive, dict[str, dict[str, object]]]:
    truth: dict[str, dict[str, object]] = {}
    for name in ("TCGA-LUAD", "TCGA-BRCA"):
        archive.ingest([corpus.root / name], name)
        truth.update(_truth(corpus.root / name, name))
    return archive, truth


def test_all_series_with_counts(filled: tuple[Archive, dict[str, dict[str, object]]]) -> None:
    archive, truth = filled
    rows = archive.catalog.series(principal=OPERATOR)
    assert {r.series_instance_uid for r in rows} == set(truth)
    for row in rows:
        expected = truth[row.series_instance_uid]
        assert (row.collection, row.patient_id, row.study_instance_uid, row.modality) == (
            expected["collection"],
            expected["patient"],
            expected["study"],
            expected["modality"],
        )
        assert (row.image_count, row.file_size) == (expected["count"], expected["bytes"])
    keys = [(r.collection, r.patient_id, r.study_instance_uid, r.series_instance_uid) for r in rows]
    assert keys == sorted(keys)


@pytest.mark.parametrize("facet", ["collection", "patient", "modality"])
def test_filters_select_what_an_independent_read_selects(
    filled: tuple[Archive, dict[str, dict[str, object]]], facet: str
) -> None:
    archive, truth = filled
    value = sorted(str(v[facet]) for v in truth.values())[0]
    where = {
        "collection": SeriesFilter(collection=value),
        "patient": SeriesFilter(patient_id=value),
        "modality": SeriesFilter(modality=value),
    }[facet]
    rows = archive.catalog.series(where, principal=OPERATOR)
    assert {r.series_instance_uid for r in rows} == {uid for uid, v in truth.items() if v[facet] == value}


def test_value_lists(filled: tuple[Archive, dict[str, dict[str, object]]]) -> None:
    archive, truth = filled
    assert archive.catalog.values("modality", principal=OPERATOR) == sorted(
        {str(v["modality"]) for v in truth.values()}
    )
    luad = SeriesFilter(collection="TCGA-LUAD")
    assert archive.catalog.values("modality", luad, principal=OPERATOR) == sorted(
        {str(v["modality"]) for v in truth.values() if v["collection"] == "TCGA-LUAD"}
    )
    manufacturers = {str(v["manufacturer"]) for v in truth.values() if v["manufacturer"]}
    assert archive.catalog.values("manufacturer", principal=OPERATOR) == sorted(manufacturers)
    assert archive.catalog.values("collection", principal=OPERATOR) == ["TCGA-BRCA", "TCGA-LUAD"]


def test_patients_studies_instances(
    filled: tuple[Archive, dict[str, dict[str, object]]], corpus: Corpus
) -> None:
    archive, truth = filled
    patients = archive.catalog.patients(SeriesFilter(collection="TCGA-BRCA"), principal=OPERATOR)
    assert {p.patient_id for p in patients} == {
        str(v["patient"]) for v in truth.values() if v["collection"] == "TCGA-BRCA"
    }
    studies = archive.catalog.studies(principal=OPERATOR)
    per_study: dict[str, int] = defaultdict(int)
    for v in truth.values():
        per_study[str(v["study"])] += 1
    assert {s.study_instance_uid: s.series_count for s in studies} == per_study
    uid = sorted(truth)[0]
    instances = archive.catalog.instances(uid, principal=OPERATOR)
    assert len(instances) == truth[uid]["count"]
    numbers = [i.instance_number for i in instances]
    assert None not in numbers
    assert numbers == sorted(n for n in numbers if n is not None)
    assert archive.catalog.instances("1.2.3.4.5.6.7.8.9", principal=OPERATOR) == []


def test_streamed_fetches_return_every_series_once(
    filled: tuple[Archive, dict[str, dict[str, object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, truth = filled
    monkeypatch.setattr(ria.catalog.streaming, "YIELD_PER", 2)  # many fetches from one server-side cursor
    uids = [r.series_instance_uid for r in archive.catalog.iter_series(principal=OPERATOR)]
    assert sorted(uids) == sorted(truth) and len(uids) == len(set(uids))


def test_dataframe(filled: tuple[Archive, dict[str, dict[str, object]]]) -> None:
    archive, truth = filled
    frame = to_dataframe(archive.catalog.series(principal=OPERATOR))
    assert len(frame) == len(truth)
    assert int(frame["image_count"].sum()) == sum(int(v["count"]) for v in truth.values())  # type: ignore[call-overload]
