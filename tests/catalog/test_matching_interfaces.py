"""The same query, the same answer: QIDO-RS over HTTP and C-FIND over DICOM, on SQLite and PostgreSQL.

A real archive holds real DICOM whose PatientName, PatientID, StudyDescription and
SeriesDescription differ in case (and in non-ASCII letters, and hold ``%``/``_``).
Each wildcard query goes to a running HTTP server and to a running DICOM node
(pynetdicom's SCU); the answer must be what :func:`fnmatch.fnmatchcase` picks from
what pydicom reads in the files — on both databases, so they agree with each other.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import AE

from ria.archive import Archive
from ria.dimse import DicomNode
from ria.sample import generate_corpus
from ria.settings import Settings
from tests.api.conftest import LiveServer
from tests.catalog.test_matching import dicom_match, fold, fuzzy_match
from tests.conftest import throwaway_postgres
from tests.dimse.conftest import start_node

COLLECTION = "TCGA-LUAD"
STUDY_FIND = UID("1.2.840.10008.5.1.4.1.2.2.1")
PATIENTS = (
    ("Doe^Jane", "TCGA-05-0001"),
    ("DOE^JOHN", "tcga-05-0002"),
    ("doe^jim", "Tcga-05-0003"),
    ("Müller^Anna", "TCGA-05-0004"),
    ("MÜLLER^ÉLODIE", "tcga-05-0005"),
    ("müller^élodie", "TCGA-05-0006"),
    ("Smith^Ann", "TCGA_05_0007"),
    ("O'Neil^Ann", "TCGA%05%0008"),
)
STUDIES = (
    "CT Chest",
    "ct chest",
    "CHEST CT",
    "Chest 100% dose",
    "Chest_low",
    "chest",
    "CT Abdomen",
    "ct_Chest",
)
SERIES = ("Axial", "AXIAL 5mm", "axial", "Coronal", "CORONAL_2", "ax%ial", "Sagittal", "Äxial")

# The five wildcard queries issue 14 measured (3 vs 1 studies for doe*), then more.
WILDCARDS = [
    ("PatientName", "doe*"),
    ("PatientName", "DOE^J*"),
    ("PatientName", "*üller*"),
    ("StudyDescription", "*chest*"),
    ("StudyDescription", "CT*"),
    ("PatientName", "?oe^J*"),
    ("PatientName", "MÜLLER^*"),
    ("PatientName", "Doe^Jane"),
    ("PatientID", "tcga*"),
    ("PatientID", "TCGA_05*"),
    ("PatientID", "TCGA%*"),
    ("StudyDescription", "*100%*"),
    ("StudyDescription", "*_*"),
    ("StudyDescription", "chest"),
    ("PatientName", "*"),
]
FUZZY = ["doe", "DOE^J", "müller", "MÜLLER", "élodie", "ann", "o'n"]
SERIES_WILDCARDS = ["*axial*", "AX*", "?xial", "*%*", "*_*", "Äx*", "coronal*"]


@dataclass(frozen=True)
class World:
    archive: Archive
    base_url: str
    node: DicomNode
    studies: dict[str, dict[str, str]]  # study UID → keyword → value, as pydicom reads the files
    series: dict[str, str]  # series UID → SeriesDescription
    series_patient: dict[str, str]  # series UID → PatientID

    @property
    def server_url(self) -> str:
        return self.base_url.removesuffix("/dicomweb")


def _write_corpus(root: Path) -> None:
    generate_corpus(root, 16, series_size=1, series_per_patient=2, seed="matching-cases")
    files = sorted(root.rglob("*.dcm"))
    patients = sorted({str(pydicom.dcmread(path, stop_before_pixels=True).PatientID) for path in files})
    assert len(patients) == len(PATIENTS) and len(files) == 16
    for index, path in enumerate(files):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            number = patients.index(str(ds.PatientID))
            ds.SpecificCharacterSet = "ISO_IR 192"
            ds.PatientName, ds.PatientID = PATIENTS[number]
            ds.StudyDescription = STUDIES[index % len(STUDIES)]
            ds.SeriesDescription = SERIES[3 * index % len(SERIES)]
            ds.save_as(path, enforce_file_format=True)


def _truth(root: Path) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    studies: dict[str, dict[str, str]] = {}
    series: dict[str, str] = {}
    for path in sorted(root.rglob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        studies[str(ds.StudyInstanceUID)] = {
            "PatientName": str(ds.PatientName),
            "PatientID": str(ds.PatientID),
            "StudyDescription": str(ds.StudyDescription),
        }
        series[str(ds.SeriesInstanceUID)] = str(ds.SeriesDescription)
    return studies, series


def _series_patients(root: Path) -> dict[str, str]:
    found = (pydicom.dcmread(path, stop_before_pixels=True) for path in (root / "corpus").rglob("*.dcm"))
    return {str(ds.SeriesInstanceUID): str(ds.PatientID) for ds in found}


@pytest.fixture(scope="module")
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """One throw-away database for the module (the archive is built once per database)."""
    with throwaway_postgres(postgres_admin_url) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp(f"matching-{request.param}")
    _write_corpus(root / "corpus")
    studies, series = _truth(root / "corpus")
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else None
    with Archive(Settings(data_dir=root / "data", database_url=url, workers=1)) as archive:
        report = archive.ingest([root / "corpus"], COLLECTION, write_report=False)
        assert archive.catalog.instance_count() == 16, report
        with LiveServer(archive) as server:
            node = start_node(archive, collection=COLLECTION)
            try:
                yield World(archive, f"{server.url}/dicomweb", node, studies, series, _series_patients(root))
            finally:
                node.stop()


def qido(world: World, path: str, **params: str) -> list[dict[str, object]]:
    response = httpx.get(f"{world.base_url}/{path}", params=params, timeout=30)
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else []


def uids(found: list[dict[str, object]], tag: str) -> set[str]:
    return {str(item[tag]["Value"][0]) for item in found}  # type: ignore[index]


def c_find(world: World, level: str, keyword: str, pattern: str) -> set[str]:
    """The UIDs a real SCU gets back from the node's C-FIND (Study Root)."""
    ae = AE(ae_title="PEER")
    ae.add_requested_context(STUDY_FIND)
    query = Dataset()
    query.SpecificCharacterSet = "ISO_IR 192"
    query.QueryRetrieveLevel = level
    query.StudyInstanceUID = ""
    if level == "SERIES":
        query.SeriesInstanceUID = ""
    setattr(query, keyword, pattern)
    assoc = ae.associate("127.0.0.1", world.node.port, ae_title="RIA")
    assert assoc.is_established
    unique = "SeriesInstanceUID" if level == "SERIES" else "StudyInstanceUID"
    try:
        answers = list(assoc.send_c_find(query, STUDY_FIND))
    finally:
        assoc.release()
    assert answers and answers[-1][0].Status == 0x0000, answers[-1][0]
    return {str(getattr(found, unique)) for status, found in answers if status.Status in (0xFF00, 0xFF01)}


@pytest.mark.parametrize(("keyword", "pattern"), WILDCARDS)
def test_study_wildcards_are_case_sensitive_over_qido_and_c_find(
    world: World, keyword: str, pattern: str
) -> None:
    wanted = {uid for uid, values in world.studies.items() if dicom_match(pattern, values[keyword])}
    assert uids(qido(world, "studies", **{keyword: pattern}), "0020000D") == wanted
    assert c_find(world, "STUDY", keyword, pattern) == wanted


@pytest.mark.parametrize("pattern", FUZZY)
def test_fuzzy_names_ignore_ascii_case_over_qido(world: World, pattern: str) -> None:
    wanted = {uid for uid, values in world.studies.items() if fuzzy_match(pattern, values["PatientName"])}
    found = qido(world, "studies", PatientName=pattern, fuzzymatching="true")
    assert uids(found, "0020000D") == wanted


@pytest.mark.parametrize("pattern", SERIES_WILDCARDS)
def test_series_descriptions_match_the_same_over_qido_and_c_find(world: World, pattern: str) -> None:
    wanted = {uid for uid, description in world.series.items() if dicom_match(pattern, description)}
    assert uids(qido(world, "series", SeriesDescription=pattern), "0020000E") == wanted
    assert c_find(world, "SERIES", "SeriesDescription", pattern) == wanted


def test_a_malformed_range_is_a_400_naming_the_attribute(world: World) -> None:
    response = httpx.get(f"{world.base_url}/studies", params={"StudyDate": "20200101-abc"}, timeout=30)
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "StudyDate"


@pytest.mark.parametrize("needle", ["AXIAL", "axial", "Äx", "äx", "5MM", "%", "_", "ax%"])
def test_tcia_description_search_ignores_ascii_case_only(world: World, needle: str) -> None:
    """TCIA's DescriptionCriteria: a literal "contains", A-Z case ignored, the same on both databases."""
    wanted = {
        world.series_patient[uid]
        for uid, description in world.series.items()
        if fold(needle) in fold(description)
    }
    form = {"criteriaType0": "DescriptionCriteria", "value0": needle, "start": "0", "size": "100"}
    response = httpx.post(f"{world.server_url}/nbia-api/services/v4/getSimpleSearch", data=form, timeout=30)
    assert response.status_code == 200, response.text
    assert {row["subjectId"] for row in response.json()["resultSet"]} == wanted
