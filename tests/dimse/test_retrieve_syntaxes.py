"""C-GET and C-MOVE of compressed and big-endian instances, with dcmtk's getscu and movescu.

pydicom's real JPEG 2000, JPEG-LS, RLE and big-endian test files are stored as they are;
a peer that offers the stored syntax receives it untouched, a peer that takes only
uncompressed data receives the pixels decoded. Expected pixels are pydicom's decode of the
source file, compared with numpy (all four codecs are lossless).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from ria.archive import Archive
from ria.dicom.uids import derive_uid
from ria.sample import find_test_file
from tests.dimse.conftest import Run, StoreSCP, dcmtk_tool, free_port, start_node

# Stored file → the getscu option that prefers its transfer syntax (listing it before uncompressed ones).
SAMPLES = {
    "MR_small_jp2klossless.dcm": "+xv",
    "MR_small_jpeg_ls_lossless.dcm": "+xt",
    "MR_small_RLE.dcm": "+xr",
    "MR_small_bigendian.dcm": "+xb",
}


@dataclass(frozen=True)
class Sample:
    path: Path
    syntax: UID
    series_uid: str
    sop_uid: str


@dataclass
class Node:
    archive: Archive
    port: int
    samples: dict[str, Sample]
    destination_port: int


def _write_samples(folder: Path) -> dict[str, Sample]:
    """The test files as distinct instances, each in its own series (pydicom's share their UIDs)."""
    folder.mkdir(parents=True)
    samples = {}
    for name in SAMPLES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(find_test_file(name))
        dataset.PatientID = dataset.get("PatientID") or "RIA-SAMPLE-1"
        dataset.SeriesInstanceUID = derive_uid("retrieve-syntaxes", name, "series")
        dataset.SOPInstanceUID = derive_uid("retrieve-syntaxes", name, "instance")
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        target = folder / name
        dataset.save_as(target, enforce_file_format=True)
        samples[name] = Sample(
            target,
            UID(str(dataset.file_meta.TransferSyntaxUID)),
            str(dataset.SeriesInstanceUID),
            str(dataset.SOPInstanceUID),
        )
    return samples


@pytest.fixture
def node(archive: Archive, tmp_path: Path) -> Iterator[Node]:
    samples = _write_samples(tmp_path / "samples")
    report = archive.ingest([tmp_path / "samples"], "TCGA-LUAD")
    assert report.ingested == len(SAMPLES)
    destination = free_port()
    with start_node(archive, known_aes={"DEST": ("127.0.0.1", destination)}) as running:
        yield Node(archive, running.port, samples, destination)


def _pixels(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path).pixel_array


def _received(folder: Path) -> pydicom.Dataset:
    (path,) = [path for path in folder.iterdir() if path.is_file()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _get(dcmtk: Run, node: Node, sample: Sample, out: Path, *options: str) -> str:
    out.mkdir()
    result = dcmtk(
        "getscu", "-d", "-aec", "RIA", "-S", *options, "+B", "-od", str(out),
        "-k", "QueryRetrieveLevel=SERIES", "-k", f"SeriesInstanceUID={sample.series_uid}",
        "127.0.0.1", str(node.port),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize("name", SAMPLES)
def test_getscu_offering_the_stored_syntax_receives_it_untouched(
    dcmtk: Run, node: Node, tmp_path: Path, name: str
) -> None:
    sample = node.samples[name]
    output = _get(dcmtk, node, sample, tmp_path / "got", SAMPLES[name])
    received = _received(tmp_path / "got")
    assert received.SOPInstanceUID == sample.sop_uid
    assert received.file_meta.TransferSyntaxUID == sample.syntax
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = pydicom.dcmread(sample.path)
    assert received.PixelData == source.PixelData  # the stored bytes, not a re-encoding
    assert np.array_equal(received.pixel_array, _pixels(sample.path))
    assert re.search(r"Number of Completed Suboperations\s*: 1\n", output), output


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize(
    ("options", "syntax"),
    [((), ExplicitVRLittleEndian), (("+xe",), ExplicitVRLittleEndian)],
    ids=["default", "explicit-little-first"],
)
def test_getscu_offering_only_uncompressed_receives_decoded_pixels(
    dcmtk: Run, node: Node, tmp_path: Path, name: str, options: tuple[str, ...], syntax: UID
) -> None:
    sample = node.samples[name]
    output = _get(dcmtk, node, sample, tmp_path / "got", *options)
    received = _received(tmp_path / "got")
    assert received.SOPInstanceUID == sample.sop_uid
    assert received.file_meta.TransferSyntaxUID == syntax
    assert np.array_equal(received.pixel_array, _pixels(sample.path))
    assert re.search(r"Number of Failed Suboperations\s*: 0\n", output), output


@pytest.mark.parametrize(
    ("accept", "syntax"),
    [(("+xa",), None), ((), ExplicitVRLittleEndian), (("+xi",), ImplicitVRLittleEndian)],
    ids=["accepts-all", "uncompressed", "implicit-only"],
)
def test_movescu_to_a_destination_gets_stored_or_decoded_instances(
    dcmtk: Run, node: Node, tmp_path: Path, accept: tuple[str, ...], syntax: UID | None
) -> None:
    """storescp accepting every syntax receives the stored ones (``syntax`` None); by default
    (uncompressed syntaxes only) it receives the uncompressed stored ones as they are and the
    compressed ones decoded into ``syntax``; with implicit VR only, everything in implicit VR.
    No sub-operation fails."""
    scp = StoreSCP(dcmtk_tool("storescp"), tmp_path / "received", node.destination_port, accept)
    try:
        study = str(pydicom.dcmread(next(iter(node.samples.values())).path).StudyInstanceUID)
        result = dcmtk(
            "movescu", "-d", "-aec", "RIA", "-S", "-aem", "DEST",
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
            "127.0.0.1", str(node.port),
        )  # fmt: skip
        files = scp.files()
    finally:
        scp.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    final = output[output.rindex("Received Final Move Response") :]
    assert re.search(rf"Completed Suboperations\s*: {len(SAMPLES)}\n", final), final
    assert re.search(r"Failed Suboperations\s*: 0\n", final), final
    by_uid = {sample.sop_uid: sample for sample in node.samples.values()}
    assert len(files) == len(SAMPLES)
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            received = pydicom.dcmread(path)
        sample = by_uid[str(received.SOPInstanceUID)]
        kept = syntax is None or (not sample.syntax.is_compressed and accept == ())
        assert received.file_meta.TransferSyntaxUID == (sample.syntax if kept else syntax)
        assert np.array_equal(received.pixel_array, _pixels(sample.path))


def test_a_sub_operation_fails_naming_why_when_no_accepted_syntax_can_carry_it(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    """A C-GET peer (pynetdicom's SCU) that takes MR images only as JPEG baseline, which Ria never
    encodes (lossy): the JPEG 2000 instance fails, its UID is listed, and the log says why."""
    from pydicom.uid import JPEGBaseline8Bit, MRImageStorage
    from pynetdicom import AE, build_role, evt

    study_root_get = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Query/Retrieve Information Model - GET

    sample = node.samples["MR_small_jp2klossless.dcm"]
    stored: list[str] = []

    def on_store(event: evt.Event) -> int:
        stored.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    ae = AE(ae_title="PEER")
    ae.add_requested_context(study_root_get)
    ae.add_requested_context(MRImageStorage, [JPEGBaseline8Bit])
    assoc = ae.associate(
        "127.0.0.1",
        node.port,
        ae_title="RIA",
        ext_neg=[build_role(MRImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert assoc.is_established
    query = pydicom.Dataset()
    query.QueryRetrieveLevel = "SERIES"
    query.SeriesInstanceUID = sample.series_uid
    try:
        responses = list(assoc.send_c_get(query, study_root_get))
    finally:
        assoc.release()
    status, identifier = responses[-1]
    assert status.Status == 0xA702  # every sub-operation failed
    assert status.NumberOfFailedSuboperations == 1 and stored == []
    assert identifier is not None and identifier.FailedSOPInstanceUIDList == sample.sop_uid
    reasons = [record.getMessage() for record in caplog.records if record.name == "ria.dimse.retrieve"]
    assert len(reasons) == 1
    assert "JPEG 2000" in reasons[0] and "JPEG Baseline" in reasons[0], reasons
