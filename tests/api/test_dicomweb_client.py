"""DICOMweb proven with the real dicomweb-client (PyPI) against a live server on loopback.

Expected answers come from reading the source files with pydicom, never from Ria.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient

from ria.access.identity import add_user, issue_api_token
from ria.archive import Archive
from ria.sample import find_test_file
from tests.api.conftest import LiveServer
from tests.conftest import Corpus

COLLECTION = "TCGA-LUAD"


def _read(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


@pytest.fixture
def curator(archive: Archive) -> dict[str, str]:
    """An administrator's bearer header: storing is curating."""
    add_user(archive.engine, "curator", admin=True, actor="test")
    return {"Authorization": f"Bearer {issue_api_token(archive.engine, 'curator', actor='test')}"}


@pytest.fixture
def dicomweb(server: LiveServer, curator: dict[str, str]) -> Iterator[DICOMwebClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = DICOMwebClient(url=f"{server.url}/dicomweb/collections/{COLLECTION}", headers=curator)
    yield client


@pytest.fixture
def stored(dicomweb: DICOMwebClient, corpus: Corpus, archive: Archive) -> list[pydicom.Dataset]:
    """The corpus, stored through STOW-RS by the client, in batches."""
    datasets = [_read(path) for path in corpus.files]
    for start in range(0, len(datasets), 30):
        response = dicomweb.store_instances(datasets[start : start + 30])
        referenced = response.get("ReferencedSOPSequence", [])
        assert len(referenced) == len(datasets[start : start + 30])
        assert "FailedSOPSequence" not in response
    assert archive.catalog.instance_count() == len(corpus.files)
    return datasets


def test_store_then_retrieve_each_instance_unchanged(
    dicomweb: DICOMwebClient, stored: list[pydicom.Dataset]
) -> None:
    for original in stored[:12]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            back = dicomweb.retrieve_instance(
                str(original.StudyInstanceUID), str(original.SeriesInstanceUID), str(original.SOPInstanceUID)
            )
        assert back == original
        assert back.PixelData == original.PixelData


def test_storing_again_is_idempotent(dicomweb: DICOMwebClient, stored: list[pydicom.Dataset]) -> None:
    response = dicomweb.store_instances(stored[:5])
    assert len(response.ReferencedSOPSequence) == 5
    assert "FailedSOPSequence" not in response


def test_search_for_studies_series_and_instances(
    dicomweb: DICOMwebClient, stored: list[pydicom.Dataset], corpus: Corpus
) -> None:
    studies = dicomweb.search_for_studies()
    assert {s["0020000D"]["Value"][0] for s in studies} == corpus.study_uids
    patient = sorted(corpus.patients)[0]
    mine = [ds for ds in stored if ds.PatientID == patient]
    found = dicomweb.search_for_studies(search_filters={"PatientID": patient})
    assert {s["0020000D"]["Value"][0] for s in found} == {str(ds.StudyInstanceUID) for ds in mine}
    for study in found:
        uid = study["0020000D"]["Value"][0]
        in_study = [ds for ds in stored if ds.StudyInstanceUID == uid]
        assert study["00201208"]["Value"][0] == len(in_study)  # NumberOfStudyRelatedInstances
        assert sorted(study["00080061"]["Value"]) == sorted({str(ds.Modality) for ds in in_study})
        series = dicomweb.search_for_series(uid)
        assert {s["0020000E"]["Value"][0] for s in series} == {str(ds.SeriesInstanceUID) for ds in in_study}
        for entry in series:
            series_uid = entry["0020000E"]["Value"][0]
            instances = dicomweb.search_for_instances(uid, series_uid)
            expected = {str(ds.SOPInstanceUID) for ds in in_study if ds.SeriesInstanceUID == series_uid}
            assert {i["00080018"]["Value"][0] for i in instances} == expected
            assert entry["00201209"]["Value"][0] == len(expected)


def test_search_with_wildcards_dates_limit_and_offset(
    dicomweb: DICOMwebClient, stored: list[pydicom.Dataset]
) -> None:
    first = stored[0]
    prefix = str(first.PatientID)[:6]
    wanted = {str(ds.StudyInstanceUID) for ds in stored if str(ds.PatientID).startswith(prefix)}
    found = dicomweb.search_for_studies(search_filters={"PatientID": f"{prefix}*"})
    assert {s["0020000D"]["Value"][0] for s in found} == wanted
    date = str(first.StudyDate)
    on_day = {str(ds.StudyInstanceUID) for ds in stored if str(ds.StudyDate) == date}
    ranged = dicomweb.search_for_studies(search_filters={"StudyDate": f"{date}-{date}"})
    assert {s["0020000D"]["Value"][0] for s in ranged} == on_day
    every = [s["0020000D"]["Value"][0] for s in dicomweb.search_for_studies()]
    pages = [s["0020000D"]["Value"][0] for s in dicomweb.search_for_studies(limit=2, offset=1)]
    assert pages == every[1:3]


def test_retrieve_series_and_metadata(dicomweb: DICOMwebClient, stored: list[pydicom.Dataset]) -> None:
    first = stored[0]
    series = [ds for ds in stored if ds.SeriesInstanceUID == first.SeriesInstanceUID]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = dicomweb.retrieve_series(str(first.StudyInstanceUID), str(first.SeriesInstanceUID))
    assert {str(ds.SOPInstanceUID) for ds in back} == {str(ds.SOPInstanceUID) for ds in series}
    metadata = dicomweb.retrieve_series_metadata(str(first.StudyInstanceUID), str(first.SeriesInstanceUID))
    assert len(metadata) == len(series)
    by_uid = {str(ds.SOPInstanceUID): ds for ds in series}
    for item in metadata:
        original = by_uid[item["00080018"]["Value"][0]]
        assert item["00100020"]["Value"][0] == original.PatientID
        assert item["00280010"]["Value"][0] == original.Rows
        assert "BulkDataURI" in item["7FE00010"] and "Value" not in item["7FE00010"]


def test_retrieve_frames_as_pydicom_sees_them(
    dicomweb: DICOMwebClient, stored: list[pydicom.Dataset]
) -> None:
    original = stored[0]
    frames = dicomweb.retrieve_instance_frames(
        str(original.StudyInstanceUID),
        str(original.SeriesInstanceUID),
        str(original.SOPInstanceUID),
        frame_numbers=[1],
        media_types=("application/octet-stream",),
    )
    size = original.Rows * original.Columns * original.SamplesPerPixel * original.BitsAllocated // 8
    assert frames == [original.PixelData[:size]]


def test_fuzzy_names_and_includefield(dicomweb: DICOMwebClient, stored: list[pydicom.Dataset]) -> None:
    first = stored[0]
    family = str(first.PatientName).split("^")[0]
    wanted = {str(ds.StudyInstanceUID) for ds in stored if family.lower() in str(ds.PatientName).lower()}
    found = dicomweb.search_for_studies(
        fuzzymatching=True, search_filters={"PatientName": family.lower()[1:]}
    )
    assert {s["0020000D"]["Value"][0] for s in found} >= wanted and wanted
    exact = dicomweb.search_for_studies(search_filters={"PatientName": family.lower()})
    assert family == family.lower() or exact == []  # without fuzzy matching, case counts
    series = dicomweb.search_for_series(str(first.StudyInstanceUID), fields=["Manufacturer", "00181030"])
    by_uid = {str(ds.SeriesInstanceUID): ds for ds in stored}
    for entry in series:
        original = by_uid[entry["0020000E"]["Value"][0]]
        # An attribute without a value is left out (ria.dicomweb.dicomjson), never sent without Value.
        assert entry.get("00080070", {}).get("Value", [""])[0] == str(original.get("Manufacturer", ""))
        assert entry.get("00181030", {}).get("Value", [""])[0] == str(original.get("ProtocolName", ""))


def _not_an_instance() -> pydicom.Dataset:
    """What the client can encode but is no SOP instance: no SOP Class UID, no SOP Instance UID."""
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.PatientID = "TCGA-05-4244"
    return ds


def test_a_failed_part_is_referenced_by_what_it_said(dicomweb: DICOMwebClient, archive: Archive) -> None:
    """PS3.18 Table I.1-1: a failed item names its instance when the part said which it is.

    A part that said nothing (no UIDs) carries its FailureReason alone: the UID attributes are
    left out, not sent as empty ``{"vr": "UI"}`` (which would claim a known, empty UID). A part
    of another study than the URL names is referenced by the UIDs pydicom reads from it.
    """
    ct, mr = (_read(find_test_file(name)) for name in ("CT_small.dcm", "MR_small.dcm"))
    response = dicomweb.store_instances([ct, _not_an_instance()])
    (failed,) = response.FailedSOPSequence
    assert failed.FailureReason == 0xC000
    assert "ReferencedSOPClassUID" not in failed and "ReferencedSOPInstanceUID" not in failed
    (stored,) = response.ReferencedSOPSequence
    assert stored.ReferencedSOPInstanceUID == ct.SOPInstanceUID

    response = dicomweb.store_instances([ct, mr], study_instance_uid=str(ct.StudyInstanceUID))
    (failed,) = response.FailedSOPSequence
    assert failed.FailureReason == 0xA900
    assert (failed.ReferencedSOPClassUID, failed.ReferencedSOPInstanceUID) == (
        mr.SOPClassUID,
        mr.SOPInstanceUID,
    )
    assert archive.catalog.instance_count() == 1
