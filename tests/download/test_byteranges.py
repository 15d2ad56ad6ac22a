"""Range headers (RFC 9110 §14) against an independent model: Python slicing of the real bytes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ria import errors
from ria.download import ByteRange, content_range, parse_range
from ria.errors import InvalidParameterError, RangeNotSatisfiableError
from ria.sample import find_test_file

DICOM = find_test_file("CT_small.dcm").read_bytes()
N = len(DICOM)


def _served(header: str | None, data: bytes) -> bytes:
    """The body a server following parse_range would send (206 slice or 200 whole)."""
    chosen = parse_range(header, len(data))
    return data if chosen is None else data[chosen.start : chosen.stop]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-499", (0, 499)),
        ("bytes=500-999", (500, 999)),
        ("bytes=0-0", (0, 0)),
        (f"bytes={N - 1}-{N - 1}", (N - 1, N - 1)),
        ("bytes=100-", (100, N - 1)),
        ("bytes=0-", (0, N - 1)),
        ("bytes=-500", (N - 500, N - 1)),
        ("bytes=-1", (N - 1, N - 1)),
        (f"bytes=-{N}", (0, N - 1)),
        (f"bytes=-{N * 10}", (0, N - 1)),  # suffix longer than the file: the whole file
        (f"bytes=10-{N * 10}", (10, N - 1)),  # last-pos past the end is clamped
        ("Bytes=1-2", (1, 2)),  # the unit is case-insensitive
        ("BYTES=1-2", (1, 2)),
        (" \tbytes=1-2\t ", (1, 2)),
        ("bytes= 1-2 ", (1, 2)),
        ("bytes=,1-2,,", (1, 2)),  # empty list elements are ignored
        ("bytes=0001-0002", (1, 2)),
        ("bytes=0-" + "9" * 5000, (0, N - 1)),  # past int()'s 4300-digit limit
        ("bytes=-" + "0" * 4999 + "7", (N - 7, N - 1)),
    ],
)
def test_single_ranges(header: str, expected: tuple[int, int]) -> None:
    chosen = parse_range(header, N)
    assert chosen is not None
    assert (chosen.start, chosen.end) == expected
    assert chosen.complete_length == N
    assert chosen.length == expected[1] - expected[0] + 1 == len(_served(header, DICOM))
    assert _served(header, DICOM) == DICOM[expected[0] : expected[1] + 1]
    assert content_range(chosen) == f"bytes {expected[0]}-{expected[1]}/{N}"


@pytest.mark.parametrize(
    ("header", "length"),
    [
        (f"bytes={N}-", N),
        (f"bytes={N}-{N + 100}", N),
        ("bytes=5000000-6000000", N),
        ("bytes=-0", N),
        ("bytes=-000", N),
        ("bytes=" + "9" * 5000 + "-", N),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-0", 0),
    ],
)
def test_unsatisfiable_ranges_are_416_with_the_length(header: str, length: int) -> None:
    with pytest.raises(RangeNotSatisfiableError) as raised:
        parse_range(header, length)
    error = raised.value
    assert error.http_status == 416
    assert error.complete_length == length
    assert error.content_range == f"bytes */{length}"
    assert error.to_json()["error"] == "range_not_satisfiable"
    assert error.to_json()["details"] == {"complete_length": length}
    assert "RangeNotSatisfiableError" in errors.__all__


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes=-",
        "bytes=--1",
        "bytes=1-2-3",
        "bytes=5-4",  # last-pos before first-pos: an invalid spec
        "bytes=" + "9" * 5001 + "-" + "9" * 5000,
        "bytes=abc",
        "bytes=0x10-",
        "bytes=+1-2",
        "bytes=1 - 2",
        "bytes=1-2;x",
        "bytes=\u0663-\u0664",  # Arabic-Indic digits are not DIGIT
        "bytes 0-1",
        "bytes =0-1",
        "items=0-1",
        "none",
    ],
)
def test_absent_unknown_or_malformed_headers_serve_the_whole_resource(header: str | None) -> None:
    assert parse_range(header, N) is None
    assert _served(header, DICOM) == DICOM


@pytest.mark.parametrize(
    "header",
    ["bytes=0-1,5-6", "bytes=0-1, 3-4", "bytes=-1,0-", f"bytes={N}-,{N + 1}-", "bytes=0-1,abc"],
)
def test_several_ranges_serve_the_whole_resource(header: str) -> None:
    assert parse_range(header, N) is None


def test_suffix_of_an_empty_resource_is_the_whole_empty_resource() -> None:
    assert parse_range("bytes=-5", 0) is None


@pytest.mark.parametrize("length", [-1, True, 1.5])
def test_invalid_resource_length_is_a_programming_error(length: object) -> None:
    with pytest.raises(InvalidParameterError):
        parse_range("bytes=0-1", length)  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "end", "length"), [(-1, 0, 10), (5, 4, 10), (0, 10, 10), (0, 0, 0)])
def test_byte_range_refuses_impossible_ranges(start: int, end: int, length: int) -> None:
    with pytest.raises(ValueError):
        ByteRange(start, end, length)


# The model: what RFC 9110 says each single range-spec selects, computed by slicing.
UNSATISFIABLE = object()


def _model(form: str, first: int, last: int, data: bytes) -> bytes | object | None:
    if form == "suffix":
        if first == 0:
            return UNSATISFIABLE
        return None if not data else data[-first:]
    if form == "closed" and last < first:
        return None  # invalid spec: the header is ignored
    if first >= len(data):
        return UNSATISFIABLE
    return data[first:] if form == "open" else data[first : last + 1]


@given(
    length=st.integers(min_value=0, max_value=N),
    form=st.sampled_from(["closed", "open", "suffix"]),
    first=st.integers(min_value=0, max_value=2 * N),
    last=st.integers(min_value=0, max_value=2 * N),
    unit=st.sampled_from(["bytes", "Bytes", "BYTES", "bYtEs"]),
    zeros=st.integers(min_value=0, max_value=3),
    padding=st.sampled_from(["", " ", "\t", " \t"]),
)
def test_valid_single_ranges_select_what_slicing_selects(
    length: int, form: str, first: int, last: int, unit: str, zeros: int, padding: str
) -> None:
    data = DICOM[:length]
    pad = "0" * zeros
    spec = {"closed": f"{pad}{first}-{pad}{last}", "open": f"{pad}{first}-", "suffix": f"-{pad}{first}"}[form]
    header = f"{padding}{unit}={padding}{spec}{padding}"
    expected = _model(form, first, last, data)
    if expected is UNSATISFIABLE:
        with pytest.raises(RangeNotSatisfiableError) as raised:
            parse_range(header, length)
        assert raised.value.content_range == f"bytes */{length}"
        return
    chosen = parse_range(header, length)
    if expected is None:
        assert chosen is None
        return
    assert chosen is not None
    assert data[chosen.start : chosen.stop] == expected
    assert chosen.length == len(expected) > 0
    assert content_range(chosen) == f"bytes {chosen.start}-{chosen.end}/{length}"


# An independent recogniser for "exactly one well-formed range-spec" headers.
SINGLE_SPEC = re.compile(r"[ \t]*bytes=[ \t,]*(?:[0-9]+-[0-9]*|-[0-9]+)[ \t,]*", re.ASCII | re.IGNORECASE)
NEAR_MISSES = st.text(alphabet=st.sampled_from(list("bytesBYTES=-,0123456789 \t\u0663x;+")), max_size=24)


@given(header=st.one_of(NEAR_MISSES, st.text(max_size=40)), length=st.integers(min_value=0, max_value=N))
def test_arbitrary_headers_never_fail_except_as_416(header: str, length: int) -> None:
    one_valid_range = SINGLE_SPEC.fullmatch(header) is not None
    try:
        chosen = parse_range(header, length)
    except RangeNotSatisfiableError as error:
        assert one_valid_range
        assert error.complete_length == length
        return
    if not one_valid_range:
        assert chosen is None  # anything but one well-formed range is ignored: 200 with everything
    elif chosen is not None:
        assert 0 <= chosen.start <= chosen.end < length


@given(first=st.integers(min_value=0), last=st.integers(min_value=0), length=st.integers(min_value=1))
def test_huge_numbers_behave_like_their_values(first: int, last: int, length: int) -> None:
    header = f"bytes={first}-{last}"
    if last < first:
        assert parse_range(header, length) is None
    elif first >= length:
        with pytest.raises(RangeNotSatisfiableError):
            parse_range(header, length)
    else:
        assert parse_range(header, length) == ByteRange(first, min(last, length - 1), length)
