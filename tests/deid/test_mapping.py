"""Deterministic, keyed replacements and the curator's ID map."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ria.deid.mapping import MAX_SHIFT_DAYS, MIN_SHIFT_DAYS, IdMap, Replacements, load_secret
from ria.dicom.uids import is_valid_uid
from ria.errors import ConfigurationError, InvalidParameterError

uids = st.lists(st.integers(min_value=0, max_value=10**15).map(str), min_size=2, max_size=8).map(".".join)


def test_the_secret_is_created_once_private_and_reused(tmp_path: Path) -> None:
    private = tmp_path / "private"
    first = load_secret(private)
    assert len(first) == 32 and load_secret(private) == first
    assert stat.S_IMODE(os.stat(private / "deid.key").st_mode) == 0o600
    (private / "deid.key").write_bytes(b"short")
    with pytest.raises(ConfigurationError):
        load_secret(private)


@given(uids)
def test_uids_are_deterministic_valid_and_keyed(original: str) -> None:
    one = Replacements(b"k" * 32)
    again = Replacements(b"k" * 32)
    other_key = Replacements(b"j" * 32)
    new = one.uid(original)
    assert new == again.uid(original)  # another batch, another process: same answer
    assert new != original and new != other_key.uid(original)
    assert is_valid_uid(new, strict=True) and new.startswith("2.25.")
    assert int(new.split(".")[2]) < 2**128  # X.667: the 2.25 arc holds 128-bit values


@settings(max_examples=50)
@given(st.lists(st.integers(min_value=1, max_value=10**9).map(str), min_size=1, max_size=4).map(".".join))
def test_a_configured_root_is_used_and_the_result_fits(root: str) -> None:
    replacements = Replacements(b"k" * 32, uid_root=root[:40].rstrip("."))
    new = replacements.uid("1.2.3.4.5")
    assert new.startswith(replacements.uid_root + ".")
    assert len(new) <= 64 and is_valid_uid(new, strict=True)


def test_no_collisions_among_many_uids() -> None:
    replacements = Replacements(b"k" * 32, uid_root="1.2.826.0.1.3680043.10.999")
    originals = [f"1.2.840.113619.2.55.{n}" for n in range(50_000)]
    assert len({replacements.uid(uid) for uid in originals}) == len(originals)


def test_bad_roots_are_refused() -> None:
    for root in ("1.02.3", "abc", "1..2", "1." + "2" * 45):
        with pytest.raises(ConfigurationError):
            Replacements(b"k" * 32, uid_root=root)


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 1, 1)), st.integers(0, 4000))
def test_date_shifts_keep_intervals_per_patient(first: dt.date, gap: int) -> None:
    replacements = Replacements(b"k" * 32)
    second = first + dt.timedelta(days=gap)
    a = replacements.shift_date(first.strftime("%Y%m%d"), "TCGA-05-4244")
    b = replacements.shift_date(second.strftime("%Y%m%d"), "TCGA-05-4244")
    parsed = [dt.datetime.strptime(v, "%Y%m%d").date() for v in (a, b)]
    assert (parsed[1] - parsed[0]).days == gap
    assert MIN_SHIFT_DAYS <= (first - parsed[0]).days <= MAX_SHIFT_DAYS


def test_datetimes_keep_time_and_zone_and_garbage_is_emptied() -> None:
    replacements = Replacements(b"k" * 32)
    offset = replacements.day_offset("TCGA-05-4244")
    shifted = replacements.shift_datetime("20040119123456.789+0100", "TCGA-05-4244")
    expected = (dt.date(2004, 1, 19) - dt.timedelta(days=offset)).strftime("%Y%m%d")
    assert shifted == expected + "123456.789+0100"
    assert replacements.shift_date("not a date", "TCGA-05-4244") == ""


def test_id_map_reads_the_curators_csv(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("source_patient_id,target_patient_id\nMRN001,TCGA-05-4244\n\nMRN002 ,TCGA-05-4249\n")
    id_map = IdMap.read(path)
    assert id_map.target("MRN001") == "TCGA-05-4244"
    assert id_map.target("MRN002") == "TCGA-05-4249"
    assert id_map.target("MRN003") is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("patient,barcode\nA,B\n", "header must be"),
        ("source_patient_id,target_patient_id\nA\n", "line 2"),
        ("source_patient_id,target_patient_id\nA,\n", "line 2: empty"),
        ("source_patient_id,target_patient_id\nA,B\nA,C\n", "line 3"),
        ("source_patient_id,target_patient_id\n", "maps no patients"),
    ],
)
def test_id_map_errors_name_the_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "map.csv"
    path.write_text(text)
    with pytest.raises(InvalidParameterError) as caught:
        IdMap.read(path)
    assert needle in caught.value.message
    assert caught.value.parameter == "--id-map"
