"""C-FIND, C-MOVE and C-GET with dcmtk's findscu, movescu and getscu against a node running in-process.

Expected answers come from reading the source files with pydicom, never from a run.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.dimse import DicomNode
from ria.sample import generate_corpus
from ria.settings import Settings
from tests.dimse.conftest import Run, StoreSCP, dataset_bytes, dcmtk_tool, free_port, read, start_node

NAMES = ("Doe^Jane", "Doe^John", "Roe^Jim", "Smith^Ann")


@dataclass(frozen=True)
class Source:
    """What pydicom reads from one source file: the truth the answers are checked against."""

    path: Path
    patient_id: str
    patient_name: str
    study_uid: str
    study_date: str
    accession: str
    modality: str
    series_uid: str
    series_number: int
    sop_uid: str


@dataclass
class Loaded:
    archive: Archive
    node: DicomNode
    sources: list[Source]
    destination_port: int


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A 24-instance corpus (4 patients, 8 studies, 8 series) sent with storescu to a running node."""
    root = tmp_path_factory.mktemp("qr")
    generate_corpus(root / "corpus", 24, series_size=3, series_per_patient=2, seed="dimse-qr")
    patients = sorted({read(path.read_bytes()).PatientID for path in (root / "corpus").rglob("*.dcm")})
    for path in sorted((root / "corpus").rglob("*.dcm")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(path)
            index = patients.index(dataset.PatientID)
            day = 2 * index + (1 if dataset.Modality == "CT" else 2)
            dataset.PatientName = NAMES[index]
            dataset.StudyDate = f"202001{day:02d}"
            dataset.AccessionNumber = f"ACC{day:04d}"
            dataset.SeriesNumber = day
            dataset.save_as(path, enforce_file_format=True)
    sources = []
    for path in sorted((root / "corpus").rglob("*.dcm")):
        ds = read(path.read_bytes())
        sources.append(
            Source(
                path,
                str(ds.PatientID),
                str(ds.PatientName),
                str(ds.StudyInstanceUID),
                str(ds.StudyDate),
                str(ds.AccessionNumber),
                str(ds.Modality),
                str(ds.SeriesInstanceUID),
                int(ds.SeriesNumber),
                str(ds.SOPInstanceUID),
            )
        )
    destination = free_port()
    with Archive(Settings(data_dir=root / "data", workers=1)) as archive:
        node = start_node(archive, collection="TCGA-LUAD", known_aes={"DEST": ("127.0.0.1", destination)})
        try:
            tool = dcmtk_tool("storescu")
            sent = subprocess.run(
                [tool, "-aec", "RIA", "+sd", "+r", "127.0.0.1", str(node.port), str(root / "corpus")],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert sent.returncode == 0, sent.stderr
            assert archive.catalog.instance_count() == len(sources)
            yield Loaded(archive, node, sources, destination)
        finally:
            node.stop()


def find(dcmtk: Run, loaded: Loaded, tmp_path: Path, model: str, *keys: str) -> list[pydicom.Dataset]:
    out = tmp_path / uuid.uuid4().hex
    out.mkdir()
    args = [arg for key in keys for arg in ("-k", key)]
    result = dcmtk(
        "findscu", "-aec", "RIA", model, "-X", "-od", str(out), *args, "127.0.0.1", str(loaded.node.port)
    )
    assert result.returncode == 0, result.stderr
    return [read(path.read_bytes()) for path in sorted(out.glob("rsp*.dcm"))]


def values(answers: list[pydicom.Dataset], keyword: str) -> list[str]:
    return sorted(str(answer.get(keyword, "")) for answer in answers)


# -- C-FIND ------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["Doe^J*", "?oe*", "doe^j?n*", "*", "Smith^Ann", "Nobody*"])
def test_patient_level_matches_names_with_wildcards(
    dcmtk: Run, loaded: Loaded, tmp_path: Path, pattern: str
) -> None:
    answers = find(
        dcmtk, loaded, tmp_path, "-P",
        "QueryRetrieveLevel=PATIENT", f"PatientName={pattern}", "PatientID", "NumberOfPatientRelatedStudies",
        "NumberOfPatientRelatedInstances", "PatientBirthDate",
    )  # fmt: skip
    # PN matching is case-sensitive, as PS3.4 C.2.2.2 has it (C-FIND negotiates no fuzzy matching).
    wanted = {s.patient_id for s in loaded.sources if fnmatch.fnmatchcase(s.patient_name, pattern)}
    assert values(answers, "PatientID") == sorted(wanted)
    for answer in answers:
        mine = [s for s in loaded.sources if s.patient_id == answer.PatientID]
        assert str(answer.PatientName) == mine[0].patient_name
        assert int(answer.NumberOfPatientRelatedStudies) == len({s.study_uid for s in mine})
        assert int(answer.NumberOfPatientRelatedInstances) == len(mine)
        assert answer.QueryRetrieveLevel == "PATIENT"
        assert "PatientBirthDate" in answer  # asked, returned (empty: the files have none)


@pytest.mark.parametrize(
    ("date", "low", "high"),
    [
        ("20200103-20200106", "20200103", "20200106"),
        ("-20200102", "00000000", "20200102"),
        ("20200107-", "20200107", "99999999"),
        ("20200104", "20200104", "20200104"),
    ],
)
def test_study_level_matches_dates_and_ranges(
    dcmtk: Run, loaded: Loaded, tmp_path: Path, date: str, low: str, high: str
) -> None:
    answers = find(
        dcmtk, loaded, tmp_path, "-S",
        "QueryRetrieveLevel=STUDY", f"StudyDate={date}", "StudyInstanceUID", "AccessionNumber",
        "ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "PatientID",
    )  # fmt: skip
    wanted = {s.study_uid for s in loaded.sources if low <= s.study_date <= high}
    assert wanted and values(answers, "StudyInstanceUID") == sorted(wanted)
    for answer in answers:
        mine = [s for s in loaded.sources if s.study_uid == answer.StudyInstanceUID]
        assert answer.StudyDate == mine[0].study_date and answer.AccessionNumber == mine[0].accession
        assert answer.PatientID == mine[0].patient_id
        assert list(pydicom.multival.MultiValue(str, [answer.ModalitiesInStudy])) == sorted(
            {s.modality for s in mine}
        )
        assert int(answer.NumberOfStudyRelatedSeries) == len({s.series_uid for s in mine})
        assert int(answer.NumberOfStudyRelatedInstances) == len(mine)


def test_study_level_matches_uid_lists_accession_and_modalities(
    dcmtk: Run, loaded: Loaded, tmp_path: Path
) -> None:
    studies = sorted({s.study_uid for s in loaded.sources})
    listed = find(
        dcmtk,
        loaded,
        tmp_path,
        "-S",
        "QueryRetrieveLevel=STUDY",
        f"StudyInstanceUID={studies[0]}\\{studies[3]}",
    )
    assert values(listed, "StudyInstanceUID") == [studies[0], studies[3]]
    single = find(dcmtk, loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={studies[2]}")
    assert values(single, "StudyInstanceUID") == [studies[2]]
    accession = loaded.sources[0].accession
    by_accession = find(
        dcmtk,
        loaded,
        tmp_path,
        "-S",
        "QueryRetrieveLevel=STUDY",
        f"AccessionNumber={accession}",
        "StudyInstanceUID",
    )
    assert values(by_accession, "StudyInstanceUID") == sorted(
        {s.study_uid for s in loaded.sources if s.accession == accession}
    )
    mr = find(
        dcmtk, loaded, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "ModalitiesInStudy=MR", "StudyInstanceUID"
    )
    assert values(mr, "StudyInstanceUID") == sorted(
        {s.study_uid for s in loaded.sources if s.modality == "MR"}
    )


def test_series_level_matches_modality_and_series_number(dcmtk: Run, loaded: Loaded, tmp_path: Path) -> None:
    ct = find(
        dcmtk, loaded, tmp_path, "-S",
        "QueryRetrieveLevel=SERIES", "Modality=CT", "SeriesInstanceUID", "SeriesNumber",
        "NumberOfSeriesRelatedInstances", "StudyInstanceUID",
    )  # fmt: skip
    assert values(ct, "SeriesInstanceUID") == sorted(
        {s.series_uid for s in loaded.sources if s.modality == "CT"}
    )
    for answer in ct:
        mine = [s for s in loaded.sources if s.series_uid == answer.SeriesInstanceUID]
        assert int(answer.SeriesNumber) == mine[0].series_number
        assert int(answer.NumberOfSeriesRelatedInstances) == len(mine)
        assert answer.StudyInstanceUID == mine[0].study_uid
    number = loaded.sources[-1].series_number
    by_number = find(
        dcmtk,
        loaded,
        tmp_path,
        "-S",
        "QueryRetrieveLevel=SERIES",
        f"SeriesNumber={number}",
        "SeriesInstanceUID",
    )
    assert values(by_number, "SeriesInstanceUID") == sorted(
        {s.series_uid for s in loaded.sources if s.series_number == number}
    )
    one = loaded.sources[0]
    in_study = find(
        dcmtk, loaded, tmp_path, "-P",
        "QueryRetrieveLevel=SERIES", f"PatientID={one.patient_id}", f"StudyInstanceUID={one.study_uid}",
        f"SeriesInstanceUID={one.series_uid}",
    )  # fmt: skip
    assert values(in_study, "SeriesInstanceUID") == [one.series_uid]


def test_image_level_lists_a_series_and_finds_one_instance(
    dcmtk: Run, loaded: Loaded, tmp_path: Path
) -> None:
    one = loaded.sources[4]
    images = find(
        dcmtk, loaded, tmp_path, "-S",
        "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={one.study_uid}",
        f"SeriesInstanceUID={one.series_uid}",
        "SOPInstanceUID", "SOPClassUID", "InstanceNumber",
    )  # fmt: skip
    assert values(images, "SOPInstanceUID") == sorted(
        s.sop_uid for s in loaded.sources if s.series_uid == one.series_uid
    )
    single = find(
        dcmtk,
        loaded,
        tmp_path,
        "-S",
        "QueryRetrieveLevel=IMAGE",
        f"SOPInstanceUID={one.sop_uid}",
        "SeriesInstanceUID",
    )
    assert values(single, "SeriesInstanceUID") == [one.series_uid]


def test_a_malformed_date_is_refused_and_a_study_time_is_not_matched(
    dcmtk: Run, loaded: Loaded, tmp_path: Path
) -> None:
    port = str(loaded.node.port)
    bad = dcmtk(
        "findscu",
        "-d",
        "-aec",
        "RIA",
        "-S",
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        "StudyDate=2020-01",
        "127.0.0.1",
        port,
    )
    assert "0xa900" in (bad.stdout + bad.stderr).lower()
    timed = dcmtk(
        "findscu", "-d", "-aec", "RIA", "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyTime=1200",
        "-k", "StudyInstanceUID", "127.0.0.1", port,
    )  # fmt: skip
    output = (timed.stdout + timed.stderr).lower()
    assert "0xff01" in output  # matches continue: an optional key was not supported
    assert output.count("pending") >= len({s.study_uid for s in loaded.sources})


# -- C-MOVE and C-GET ------------------------------------------------------------


@pytest.fixture
def destination(loaded: Loaded, tmp_path: Path) -> Iterator[StoreSCP]:
    scp = StoreSCP(dcmtk_tool("storescp"), tmp_path / "received", loaded.destination_port)
    yield scp
    scp.stop()


def _stored_bytes(loaded: Loaded, sop_uid: str) -> bytes:
    row = loaded.archive.catalog.instance(sop_uid, principal=OPERATOR)
    assert row is not None
    return loaded.archive.store.get(row.blob_key)


def _check_received(loaded: Loaded, files: list[Path], wanted: set[str]) -> None:
    received = {str(read(path.read_bytes()).SOPInstanceUID): path.read_bytes() for path in files}
    assert set(received) == wanted
    for sop_uid, data in received.items():
        assert dataset_bytes(data) == dataset_bytes(_stored_bytes(loaded, sop_uid))


def test_movescu_sends_a_study_to_a_known_destination(
    dcmtk: Run, loaded: Loaded, destination: StoreSCP
) -> None:
    study = loaded.sources[0].study_uid
    result = dcmtk(
        "movescu", "-d", "-aec", "RIA", "-S", "-aem", "DEST",
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
        "127.0.0.1", str(loaded.node.port),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    wanted = {s.sop_uid for s in loaded.sources if s.study_uid == study}
    output = result.stdout + result.stderr
    final = output[output.rindex("Received Final Move Response") :]
    assert re.search(rf"Completed Suboperations\s*: {len(wanted)}\n", final), final
    assert re.search(r"Failed Suboperations\s*: 0\n", final), final
    _check_received(loaded, destination.files(), wanted)


def test_movescu_of_series_in_patient_root(dcmtk: Run, loaded: Loaded, destination: StoreSCP) -> None:
    one, other = loaded.sources[0], loaded.sources[-1]
    result = dcmtk(
        "movescu", "-aec", "RIA", "-P", "-aem", "DEST", "-k", "QueryRetrieveLevel=SERIES",
        "-k", f"PatientID={one.patient_id}", "-k", f"StudyInstanceUID={one.study_uid}",
        "-k", f"SeriesInstanceUID={one.series_uid}\\{other.series_uid}", "127.0.0.1", str(loaded.node.port),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # The patient and study keys narrow the list to the series of that study.
    _check_received(
        loaded, destination.files(), {s.sop_uid for s in loaded.sources if s.series_uid == one.series_uid}
    )


def test_movescu_to_an_unknown_destination_fails_with_a801(
    dcmtk: Run, loaded: Loaded, tmp_path: Path
) -> None:
    study = loaded.sources[0].study_uid
    result = dcmtk(
        "movescu", "-d", "-aec", "RIA", "-S", "-aem", "NOWHERE",
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
        "127.0.0.1", str(loaded.node.port),
    )  # fmt: skip
    assert "0xa801" in (result.stdout + result.stderr).lower()


def test_getscu_receives_a_series_on_the_same_association(dcmtk: Run, loaded: Loaded, tmp_path: Path) -> None:
    one = loaded.sources[3]
    out = tmp_path / "got"
    out.mkdir()
    result = dcmtk(
        "getscu", "-aec", "RIA", "-S", "+B", "-od", str(out), "-k", "QueryRetrieveLevel=SERIES",
        "-k", f"StudyInstanceUID={one.study_uid}", "-k", f"SeriesInstanceUID={one.series_uid}",
        "127.0.0.1", str(loaded.node.port),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = sorted(path for path in out.iterdir() if path.is_file())
    _check_received(loaded, files, {s.sop_uid for s in loaded.sources if s.series_uid == one.series_uid})


def test_a_retrieve_without_its_unique_key_is_refused(dcmtk: Run, loaded: Loaded, tmp_path: Path) -> None:
    result = dcmtk(
        "getscu", "-d", "-aec", "RIA", "-S", "-od", str(tmp_path), "-k", "QueryRetrieveLevel=STUDY",
        "127.0.0.1", str(loaded.node.port),
    )  # fmt: skip
    assert "0xa900" in (result.stdout + result.stderr).lower()
    assert not [path for path in tmp_path.iterdir() if path.is_file()]
