"""The byte path does what the pydicom path does: same refusals, output, header, quarantine and report.

Every comparison runs one file through both paths of :class:`Deidentifier` and
compares what a reader sees (each output parsed by pydicom into the DICOM JSON
model, File Meta included), plus the catalogue header and the action counts. A
direct call of :func:`ria.deid.bytewise.rewrite` shows which files the byte path
takes, so the comparisons are known to cover it.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import keyword_for_tag

from ria.deid import bytewise
from ria.deid.engine import Deidentifier, DeidOutcome
from ria.deid.mapping import IdMap, Replacements
from ria.deid.profiles import Profile
from ria.sample import find_test_file
from tests.deid.phi import MRN, Markers, dataset_bytes, plant, read_dataset, real_files
from tests.deid.test_phi_removal import _ROWS, PROFILES, TARGET

KEY = b"secret-key-for-tests-0123456789ab"


def _both(spec: str, source: bytes) -> tuple[DeidOutcome, DeidOutcome]:
    def run(byte_path: bool) -> DeidOutcome:
        deid = Deidentifier(Profile.parse(spec), IdMap({MRN: TARGET}), Replacements(KEY), byte_path=byte_path)
        return deid(source)

    return run(True), run(False)


def _takes_byte_path(spec: str, source: bytes) -> bool:
    deid = Deidentifier(Profile.parse(spec), IdMap({MRN: TARGET}), Replacements(KEY))
    try:
        bytewise.rewrite(
            source,
            decide=deid._decide,
            replacements=deid.replacements,
            target_for=deid.id_map.target,
            method="test",
            method_codes=(),
            temporal="MODIFIED",
        )
    except bytewise.StepAside:
        return False
    return True


def _reader_view(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data))
        return ds.file_meta.to_json_dict(), ds.to_json_dict(bulk_data_threshold=1 << 30)


def _assert_same(byte: DeidOutcome, plain: DeidOutcome) -> None:
    assert byte.refusal == plain.refusal
    assert byte.quarantine == plain.quarantine
    if plain.data is None:
        assert byte.data is None
        return
    assert byte.data is not None
    assert byte.actions == plain.actions
    assert byte.header == plain.header
    byte_meta, byte_ds = _reader_view(byte.data)
    plain_meta, plain_ds = _reader_view(plain.data)
    assert byte_meta == plain_meta
    different = {keyword_for_tag(int(tag, 16)) or tag for tag in set(byte_ds) | set(plain_ds)
                 if byte_ds.get(tag) != plain_ds.get(tag)}  # fmt: skip
    assert different == set()
    assert byte.data[:128] == b"\x00" * 128


@pytest.mark.parametrize("spec", PROFILES)
@pytest.mark.parametrize("path", list(real_files()), ids=lambda p: p.name)
def test_planted_real_files_come_out_the_same_by_either_path(path: Path, spec: str) -> None:
    ds = read_dataset(path)
    plant(ds, Profile.parse(spec), Markers())
    source = dataset_bytes(ds)
    explicit_little = ds.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2"
    assert _takes_byte_path(spec, source) == explicit_little
    _assert_same(*_both(spec, source))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.sampled_from(_ROWS), min_size=1, max_size=40, unique=True),
    nest=st.lists(st.booleans(), min_size=40, max_size=40),
    spec=st.sampled_from(PROFILES),
    seed=st.integers(min_value=1, max_value=500),
    mention=st.sampled_from(["", MRN, "Zyxwvuts", f"seen {MRN.lower()} twice {MRN}"]),
)
def test_random_datasets_come_out_the_same_by_either_path(
    picks: list[tuple[int, str]], nest: list[bool], spec: str, seed: int, mention: str
) -> None:
    """Random table attributes (some nested, some free text naming the patient) through both paths."""
    ds = read_dataset(find_test_file("CT_small.dcm"))
    ds.PatientID = MRN
    ds.PatientName = "Zyxwvuts^Qponmlk"
    markers = Markers(seed)
    inner = pydicom.Dataset()
    inner.CodeMeaning = "Chest"
    for (tag, vr), nested in zip(picks, nest, strict=False):
        value = (
            f"{mention} {markers.value(vr)}".strip() if vr in ("LO", "LT", "ST", "UT") else markers.value(vr)
        )
        (inner if nested else ds).add_new(tag, vr, value)
    inner.PatientID = MRN  # identity nested in a kept sequence follows the profile, not the mapping
    ds.AnatomicRegionSequence = pydicom.Sequence([inner])
    source = dataset_bytes(ds)
    assert _takes_byte_path(spec, source)
    _assert_same(*_both(spec, source))


def _explicit_ct(**changes: object) -> pydicom.Dataset:
    ds = read_dataset(find_test_file("CT_small.dcm"))
    ds.PatientID = MRN
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    return ds


def test_files_it_is_unsure_of_go_to_the_pydicom_path_with_the_same_result() -> None:
    latin = _explicit_ct(SpecificCharacterSet="ISO_IR 100", StudyDescription=f"Thorax {MRN} Müller")
    japanese = _explicit_ct(SpecificCharacterSet="ISO 2022 IR 87")
    implicit = dataset_bytes(read_dataset(find_test_file("rtdose.dcm")))
    for label, source in (
        ("latin-1 text to clean", dataset_bytes(latin)),
        ("ISO 2022", dataset_bytes(japanese)),
    ):
        assert not _takes_byte_path("tcia", source), label
        _assert_same(*_both("tcia", source))
    assert not _takes_byte_path("tcia", implicit)


def test_truncated_and_broken_files_get_the_pydicom_paths_exact_refusals() -> None:
    source = dataset_bytes(_explicit_ct())
    cases = {
        "cut inside pixel data": source[:-100],
        "cut inside an element header": source + b"\x08\x00",
        "cut in the header": source[:900],
        "unmapped patient": dataset_bytes(_explicit_ct(PatientID="SITE-ONLY-99")),
        "no data set": source[: source.index(b"\x08\x00\x05\x00")],
    }
    for label, broken in cases.items():
        byte, plain = _both("tcia", broken)
        assert plain.refusal is not None, label
        _assert_same(byte, plain)


def test_unsorted_tags_and_undefined_length_oddities_step_aside() -> None:
    source = bytearray(dataset_bytes(_explicit_ct()))
    at = source.index(b"\x08\x00\x60\x00CS")  # Modality
    swapped = bytes(source[:at]) + struct.pack("<HH", 0x0008, 0x0008) + bytes(source[at + 4 :])
    assert not _takes_byte_path("tcia", swapped)
    outcome = Deidentifier(Profile.parse("tcia"), IdMap({MRN: TARGET}), Replacements(KEY))(swapped)
    assert outcome.data is not None or outcome.refusal is not None


def test_the_byte_path_is_what_ingest_uses_and_keeps_pixels_bit_for_bit() -> None:
    ds = _explicit_ct()
    source = dataset_bytes(ds)
    assert _takes_byte_path("tcia", source)
    outcome = Deidentifier(Profile.parse("tcia"), IdMap({MRN: TARGET}), Replacements(KEY))(source)
    assert outcome.data is not None and outcome.header is not None
    out = pydicom.dcmread(io.BytesIO(outcome.data))
    assert out.PixelData == ds.PixelData
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != ds.SOPInstanceUID
    assert out.PatientIdentityRemoved == "YES" and out.PatientID == TARGET
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
