"""The proof: PHI planted in every attribute a profile covers, nested and private ones included, is gone."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_has_tag, dictionary_VR, keyword_for_tag

from ria.deid.engine import Deidentifier
from ria.deid.mapping import IdMap, Replacements
from ria.deid.profiles import Profile
from ria.deid.table import Code, default_table
from ria.dicom.header import read_instance_header
from tests.deid.phi import (
    MRN,
    NAME,
    TEXT_VRS,
    Markers,
    dataset_bytes,
    plant,
    read_dataset,
    real_files,
    survivors,
)

PROFILES = ("basic", "tcia", "basic,rlmd,rpc,rdi,cd,csc")
TARGET = "TCGA-05-4244"


def _deidentifier(spec: str) -> Deidentifier:
    return Deidentifier(
        Profile.parse(spec), IdMap({MRN: TARGET}), Replacements(b"secret-key-for-tests-0123456789ab")
    )


@pytest.mark.parametrize("spec", PROFILES)
@pytest.mark.parametrize("path", list(real_files()), ids=lambda p: p.name)
def test_no_planted_value_survives_in_real_files(path: Path, spec: str) -> None:
    profile = Profile.parse(spec)
    ds = read_dataset(path)
    planted = plant(ds, profile, Markers())
    assert len(planted.markers) > 100, "the table should give well over a hundred attributes to plant"
    source = dataset_bytes(ds)
    assert survivors(source, planted) == planted.markers  # the scanner does see every marker before
    outcome = _deidentifier(spec)(source)
    assert outcome.refusal is None and outcome.data is not None
    assert survivors(outcome.data, planted) == {}
    out = pydicom.dcmread(io.BytesIO(outcome.data))
    assert out.PatientID == TARGET and out.PatientName == TARGET
    assert out.PatientIdentityRemoved == "YES"
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert codes[0] == "113100" and "113101" not in codes  # never claims pixel cleaning it did not do
    assert "ReferencedPatientSequence" not in out
    assert out.AnatomicRegionSequence[0].CodeMeaning == "Chest"  # kept, walked, cleaned inside
    assert not any(element.tag.is_private for element in out)


def test_original_pixels_are_kept_bit_for_bit() -> None:
    path = next(real_files())
    ds = read_dataset(path)
    ds.PatientID = MRN
    outcome = _deidentifier("tcia")(dataset_bytes(ds))
    assert outcome.data is not None
    assert pydicom.dcmread(io.BytesIO(outcome.data)).PixelData == ds.PixelData


def test_output_is_deterministic_and_keyed() -> None:
    path = next(real_files())
    source = path.read_bytes()
    map_ = IdMap({str(read_dataset(path).PatientID): TARGET})
    first = Deidentifier(Profile.parse("tcia"), map_, Replacements(b"k" * 32))(source)
    again = Deidentifier(Profile.parse("tcia"), map_, Replacements(b"k" * 32))(source)
    other = Deidentifier(Profile.parse("tcia"), map_, Replacements(b"j" * 32))(source)
    assert first.data == again.data  # same input, same key: same bytes, in any batch or process
    assert first.data is not None and other.data is not None
    one, two = pydicom.dcmread(io.BytesIO(first.data)), pydicom.dcmread(io.BytesIO(other.data))
    assert one.SOPInstanceUID != two.SOPInstanceUID


def test_dates_move_together_under_modified_dates() -> None:
    ds = read_dataset(next(real_files()))
    ds.PatientID = MRN
    ds.StudyDate, ds.SeriesDate, ds.AcquisitionDate = "20040119", "20040119", "20040301"
    outcome = _deidentifier("tcia")(dataset_bytes(ds))
    assert outcome.data is not None
    out = pydicom.dcmread(io.BytesIO(outcome.data))
    assert out.StudyDate == out.SeriesDate != "20040119"
    import datetime as dt

    def day(value: str) -> dt.date:
        return dt.datetime.strptime(value, "%Y%m%d").date()

    assert (day(out.AcquisitionDate) - day(out.StudyDate)).days == 42  # the interval survives
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"


def test_unmapped_patients_are_refused_without_echoing_their_id() -> None:
    ds = read_dataset(next(real_files()))
    ds.PatientID = "SITE-ONLY-99"
    outcome = _deidentifier("basic")(dataset_bytes(ds))
    assert outcome.data is None and outcome.refusal is not None
    assert "not in the ID map" in outcome.refusal and "SITE-ONLY-99" not in outcome.refusal


def test_the_report_counts_actions_by_attribute_without_values() -> None:
    ds = read_dataset(next(real_files()))
    planted = plant(ds, Profile.parse("basic"), Markers())
    outcome = _deidentifier("basic")(dataset_bytes(ds))
    assert sum(outcome.actions[f"{code} InstitutionName"] for code in "XZD") == 2  # top level and nested
    text = " ".join(outcome.actions)
    assert not any(marker in text for marker in planted.markers)
    assert NAME not in text and MRN not in text


def _text_rows() -> list[tuple[int, str]]:
    """(tag, VR) of every exact-tag table row with a text VR the planter can write."""
    rows: list[tuple[int, str]] = []
    for row in default_table().rows:
        tag = row.tag.exact
        if tag is None or tag >> 16 in (0x0000, 0x0002, 0x0004, 0x7FE0) or tag in (0x00100010, 0x00100020):
            continue
        if not dictionary_has_tag(tag) or not keyword_for_tag(tag):
            continue
        vr = dictionary_VR(tag)
        if vr in TEXT_VRS:
            rows.append((tag, vr))
    return rows


_ROWS = _text_rows()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.sampled_from(_ROWS), min_size=1, max_size=40, unique=True),
    nest=st.lists(st.booleans(), min_size=40, max_size=40),
    spec=st.sampled_from(PROFILES),
    seed=st.integers(min_value=1, max_value=500),
)
def test_random_datasets_with_planted_values_come_out_clean(
    picks: list[tuple[int, str]], nest: list[bool], spec: str, seed: int
) -> None:
    """Random attributes of the table, some nested in a kept sequence, each holding a marker."""
    profile = Profile.parse(spec)
    ds = read_dataset(next(real_files()))
    ds.PatientID = MRN
    markers = Markers(seed)
    inner = pydicom.Dataset()
    inner.CodeMeaning = "Chest"
    expected: dict[str, str] = {}
    for (tag, vr), nested in zip(picks, nest, strict=False):
        if profile.action(tag, vr) is Code.K:
            continue
        if profile.action(tag, vr) is Code.C and vr not in ("DA", "DT"):
            continue  # cleaning cuts identifiers, not arbitrary words (the planted corpus covers it)
        value = markers.value(vr)
        (inner if nested else ds).add_new(tag, vr, value)
        expected[value] = keyword_for_tag(tag)
    ds.AnatomicRegionSequence = pydicom.Sequence([inner])
    outcome = _deidentifier(spec)(dataset_bytes(ds))
    assert outcome.data is not None
    leaked = [marker for marker in expected if marker.encode() in outcome.data]
    assert leaked == [], {marker: expected[marker] for marker in leaked}


@pytest.mark.parametrize("path", list(real_files()), ids=lambda p: p.name)
def test_spliced_output_reads_back_as_what_pydicom_would_write(path: Path) -> None:
    """The fast writer reuses untouched elements' original bytes; the result must equal a full re-encode."""
    ds = read_dataset(path)
    ds.PatientID = MRN
    source = dataset_bytes(ds)
    outcome = _deidentifier("tcia")(source)
    assert outcome.data is not None
    spliced = pydicom.dcmread(io.BytesIO(outcome.data))
    assert outcome.data[:128] == b"\x00" * 128  # the preamble is never passed on
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spliced.save_as(buffer, enforce_file_format=True)
        reencoded = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    assert spliced == reencoded
    assert [e.tag for e in spliced] == [e.tag for e in reencoded]
    assert spliced.file_meta.MediaStorageSOPInstanceUID == spliced.SOPInstanceUID
    # It passes ingest's own reading (truncation check included) and gives the header handed over.
    assert read_instance_header(io.BytesIO(outcome.data)) == outcome.header
