"""De-identifying as the file streams writes the very bytes the in-memory path writes, and no PHI.

Real files (pydicom's: explicit and implicit VR, JPEG, JPEG 2000 and RLE encapsulated,
multi-frame), each planted with PHI in every attribute the profile does not keep, go
through :meth:`Deidentifier.from_stream` with the size threshold at zero, so every one is
cut around its Pixel Data. The output must equal the in-memory path's byte for byte
(both engine paths: the byte path and the pydicom path), hold none of the planted
values, and carry the source's pixels. Hypothesis varies how the source dribbles in,
how the store reads the result, and what trails the Pixel Data.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from ria.deid import streaming
from ria.deid.engine import Deidentifier, DeidOutcome
from ria.deid.mapping import IdMap, Replacements
from ria.deid.pixels import PixelRules
from ria.deid.profiles import Profile
from ria.errors import InvalidDicomError
from ria.sample import find_test_file
from ria.storage.base import CHUNK_SIZE
from tests.deid.phi import MRN, Markers, Planted, dataset_bytes, plant, read_dataset, survivors

TARGET = "TCGA-05-4244"
KEY = b"secret-key-for-tests-0123456789ab"
# Explicit VR, implicit VR, JPEG 2000, RLE, JPEG baseline, multi-frame explicit and RLE.
FILES = ("CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm",
         "SC_rgb_jpeg_gdcm.dcm", "emri_small.dcm", "SC_rgb_rle_2frame.dcm")  # fmt: skip


def _planted(name: str, profile: Profile) -> tuple[pydicom.Dataset, Planted]:
    path = get_testdata_file(name)
    assert path is not None, name
    ds = read_dataset(Path(path))
    return ds, plant(ds, profile, Markers())


def _deidentifier(*, byte_path: bool = True, rules: PixelRules | None = None) -> Deidentifier:
    return Deidentifier(
        Profile.parse("tcia"), IdMap({MRN: TARGET}), Replacements(KEY), byte_path=byte_path, pixel_rules=rules
    )


def _body(outcome: DeidOutcome, read_size: int = CHUNK_SIZE) -> bytes:
    body = outcome.body()
    assert body is not None, outcome.refusal
    parts = []
    while block := body.read(read_size):
        parts.append(block)
    return b"".join(parts)


def _assert_same(streamed: DeidOutcome, whole: DeidOutcome, read_size: int = CHUNK_SIZE) -> bytes:
    assert whole.data is not None, whole.refusal
    assert streamed.spliced is not None and streamed.data is None  # it did stream
    written = _body(streamed, read_size)
    assert written == whole.data
    assert (streamed.header, streamed.quarantine, streamed.actions) == (
        whole.header,
        whole.quarantine,
        whole.actions,
    )
    return written


@pytest.mark.parametrize("byte_path", [True, False], ids=["byte-path", "pydicom-path"])
@pytest.mark.parametrize("name", FILES)
def test_streamed_output_is_the_in_memory_output_and_holds_no_phi(name: str, byte_path: bool) -> None:
    ds, planted = _planted(name, Profile.parse("tcia"))
    source = dataset_bytes(ds)
    deid = _deidentifier(byte_path=byte_path)
    written = _assert_same(deid.from_stream(io.BytesIO(source), whole_below=0), deid(source))
    assert survivors(written, planted) == {}
    out = read_dataset(written)
    assert out.PatientID == TARGET and out.PatientIdentityRemoved == "YES"
    assert out.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    assert out.PixelData == ds.PixelData


def _with_trailer(padding: int, private: str | None) -> tuple[bytes, pydicom.Dataset]:
    """CT_small with elements after Pixel Data: Data Set Trailing Padding and/or a private block."""
    ds = read_dataset(find_test_file("CT_small.dcm"))
    ds.PatientID = MRN
    if padding:
        ds.add_new(0xFFFCFFFC, "OB", b"\x00" * padding)
    if private is not None:
        ds.private_block(0x7FE1, "RIA TRAILER TEST", create=True).add_new(0x01, "LO", private)
    return dataset_bytes(ds), ds


class _Dribble(io.RawIOBase):
    """A seekable source that returns at most ``most`` bytes per read, as sockets and zip members may."""

    def __init__(self, data: bytes, most: int) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self._most = most

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._data.seek(offset, whence)

    def tell(self) -> int:
        return self._data.tell()

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        block = self._data.read(min(len(buffer), self._most))
        memoryview(buffer).cast("B")[: len(block)] = block
        return len(block)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    most=st.integers(1, 70_000),
    read_size=st.integers(1, 3 << 20),
    padding=st.sampled_from([0, 2, 512]),
    private=st.sampled_from([None, "SECRET-TRAILER-7741"]),
    byte_path=st.booleans(),
)
def test_any_chunking_and_trailer_give_the_in_memory_bytes(
    most: int, read_size: int, padding: int, private: str | None, byte_path: bool
) -> None:
    source, ds = _with_trailer(padding, private)
    deid = _deidentifier(byte_path=byte_path)
    stream = _Dribble(source, most)
    written = _assert_same(deid.from_stream(stream, whole_below=0), deid(source), read_size)  # type: ignore[arg-type]
    assert b"SECRET-TRAILER" not in written and b"RIA TRAILER TEST" not in written
    assert read_dataset(written).PixelData == ds.PixelData


def test_the_cut_is_exactly_the_pixel_data_element() -> None:
    source, _ds = _with_trailer(2, "SECRET-TRAILER-7741")
    found = streaming.cut(io.BytesIO(source), whole_below=0)
    assert found is not None
    pixel = source[found.start : found.stop]
    assert pixel[:4] == b"\xe0\x7f\x10\x00" and found.head == source[: found.start]
    assert found.trailer == source[found.stop :] and b"SECRET-TRAILER-7741" in found.trailer
    assert found.element_header == pixel[:12]


def _cut_of(name: str, *, whole_below: int = 0) -> streaming.Cut | None:
    path = get_testdata_file(name)
    assert path is not None, name
    with open(path, "rb") as handle:
        found = streaming.cut(handle, whole_below=whole_below)
        assert handle.tell() == 0  # left where a whole read starts
    return found


def test_what_is_not_cut_is_read_whole() -> None:
    assert _cut_of("emri_small_big_endian.dcm") is None  # Big Endian
    assert _cut_of("image_dfl.dcm") is None  # deflated
    assert _cut_of("CT_small.dcm", whole_below=streaming.WHOLE_FILE_LIMIT) is None  # small: whole is cheaper
    assert _cut_of("ExplVR_LitEndNoMeta.dcm") is None  # not Part 10
    assert _cut_of("CT_small.dcm") is not None
    big_trailer, _ds = _with_trailer(streaming.TRAILER_LIMIT + 2, None)
    assert streaming.cut(io.BytesIO(big_trailer), whole_below=0) is None


def test_a_stream_that_cannot_seek_is_read_whole() -> None:
    ds = _planted("CT_small.dcm", Profile.parse("tcia"))[0]
    source = dataset_bytes(ds)

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            super().__init__()
            self._data = io.BytesIO(source)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
            block = self._data.read(len(buffer))
            memoryview(buffer).cast("B")[: len(block)] = block
            return len(block)

    deid = _deidentifier()
    outcome = deid.from_stream(io.BufferedReader(Pipe()), whole_below=0)
    assert outcome.spliced is None and outcome.data == deid(source).data


@pytest.mark.parametrize("cut_at", [-1, -100, -4000])
def test_truncated_pixel_data_gets_the_in_memory_refusal(cut_at: int) -> None:
    source = dataset_bytes(_planted("CT_small.dcm", Profile.parse("tcia"))[0])[:cut_at]
    deid = _deidentifier()
    outcome = deid.from_stream(io.BytesIO(source), whole_below=0)
    whole = deid(source)
    assert whole.refusal is not None and whole.refusal.startswith("truncated")
    assert (outcome.refusal, outcome.data, outcome.spliced) == (whole.refusal, None, None)


def test_a_header_refusal_needs_no_pixels() -> None:
    ds = _planted("CT_small.dcm", Profile.parse("tcia"))[0]
    ds.PatientID = "NOT-IN-THE-MAP"
    outcome = _deidentifier().from_stream(io.BytesIO(dataset_bytes(ds)), whole_below=0)
    assert outcome.refusal is not None and "not in the ID map" in outcome.refusal
    assert outcome.body() is None


def test_a_source_that_shrinks_while_it_streams_is_an_error_not_a_short_file(tmp_path: Path) -> None:
    ds = _planted("CT_small.dcm", Profile.parse("tcia"))[0]
    path = tmp_path / "ct.dcm"
    path.write_bytes(dataset_bytes(ds))
    with open(path, "rb") as handle:
        outcome = _deidentifier().from_stream(handle, whole_below=0)
        with open(path, "r+b") as cutter:
            cutter.truncate(path.stat().st_size - 1000)
        with pytest.raises(InvalidDicomError, match="truncated"):
            _body(outcome)


def test_pixels_a_curator_rule_cleans_take_the_in_memory_path(tmp_path: Path) -> None:
    source_path = find_test_file("US1_UNCR.dcm")
    original = read_dataset(source_path)
    rules = tmp_path / "rules.json"
    rules.write_text(
        '{"rules": [{"name": "LOGIQ header band", "manufacturer": "G.E. Medical Systems",'
        ' "model": "LOGIQ 700", "regions": [[0, 0, 640, 60]]}]}'
    )
    deid = Deidentifier(
        Profile.parse("tcia"),
        IdMap({str(original.PatientID): TARGET}),
        Replacements(KEY),
        pixel_rules=PixelRules.read(rules),
    )
    source = source_path.read_bytes()
    outcome = deid.from_stream(io.BytesIO(source), whole_below=0)
    whole = deid(source)
    assert outcome.spliced is None and outcome.data == whole.data
    assert outcome.actions["clean pixel data (LOGIQ header band)"] == 1
    assert (
        read_dataset(outcome.data or b"").PixelData != original.PixelData
    )  # cleaned, not streamed as it came


def test_a_zip_member_streams_and_a_small_one_is_read_once(tmp_path: Path) -> None:
    """Zip members (no file descriptor; a seek re-inflates) stream when large, are read once when small."""
    ds, planted = _planted("MR_small.dcm", Profile.parse("tcia"))
    source = dataset_bytes(ds)
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("dir/mr.dcm", source)
    deid = _deidentifier()
    whole = deid(source)
    with zipfile.ZipFile(archive) as zipped, zipped.open("dir/mr.dcm") as member:
        written = _assert_same(deid.from_stream(member, whole_below=0), whole)  # type: ignore[arg-type]
    assert survivors(written, planted) == {}
    with zipfile.ZipFile(archive) as zipped, zipped.open("dir/mr.dcm") as member:
        small = deid.from_stream(member)  # type: ignore[arg-type]
        assert small.spliced is None and small.data == whole.data
        assert member.tell() == len(source)  # read once, never sought back
