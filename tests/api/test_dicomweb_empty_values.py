"""No QIDO-RS answer carries an attribute without a value (issue 15: OHIF's study list crashed on one).

A study whose instances have no Modality used to come back with ``"00080061": {"vr": "CS"}``,
and OHIF 3.13 reads ``ModalitiesInStudy.Value.length``. Now a computed attribute with nothing
computed is left out; WADO-RS metadata keeps the file's own empty elements as PS3.18 F.2.5
writes them. Expected values come from pydicom's reading of the files; checked with the real
dicomweb-client and on the raw JSON, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dicomweb_client.api import DICOMwebClient

from ria.archive import Archive
from tests.api.conftest import LiveServer
from tests.api.modality_cases import Case, write_cases

COLLECTION = "TCGA-LUAD"
ROOT = f"/dicomweb/collections/{COLLECTION}"


@pytest.fixture
def cases(archive: Archive, tmp_path: Path) -> list[Case]:
    written = write_cases(tmp_path / "cases")
    report = archive.ingest([case.path for case in written], collection=COLLECTION)
    assert report.ingested == len(written), report.summary()
    return written


@pytest.fixture
def dicomweb(server: LiveServer, cases: list[Case]) -> Iterator[DICOMwebClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield DICOMwebClient(url=f"{server.url}{ROOT}")


def _modalities(cases: list[Case], study_uid: str) -> set[str]:
    """ModalitiesInStudy as pydicom reads the study's files: the non-empty Modality values."""
    return {
        str(c.dataset.Modality)
        for c in cases
        if str(c.dataset.StudyInstanceUID) == study_uid and c.dataset.get("Modality")
    }


def test_modalities_in_study_are_computed_or_left_out(dicomweb: DICOMwebClient, cases: list[Case]) -> None:
    studies = dicomweb.search_for_studies()
    assert {s["0020000D"]["Value"][0] for s in studies} == {str(c.dataset.StudyInstanceUID) for c in cases}
    for study in studies:
        expected = _modalities(cases, study["0020000D"]["Value"][0])
        if expected:
            assert sorted(study["00080061"]["Value"]) == sorted(expected)
        else:
            assert "00080061" not in study
    by_patient = {s["00100020"]["Value"][0]: s for s in studies}
    assert "00080061" not in by_patient["NOMOD1"]
    assert "00080061" not in by_patient["EMPTYMOD1"]
    assert by_patient["4MR1"]["00080061"]["Value"] == ["MR"]  # its second series has no Modality


def test_matching_on_modalities_in_study_skips_studies_without_one(
    dicomweb: DICOMwebClient, cases: list[Case]
) -> None:
    found = dicomweb.search_for_studies(search_filters={"ModalitiesInStudy": "CT"})
    expected = {str(c.dataset.StudyInstanceUID) for c in cases if c.dataset.get("Modality") == "CT"}
    assert {s["0020000D"]["Value"][0] for s in found} == expected


def _valueless(item: dict[str, Any]) -> list[str]:
    """Tags of elements carrying neither a non-empty Value nor a BulkDataURI/InlineBinary."""
    return [
        tag
        for tag, element in item.items()
        if not element.get("Value") and "BulkDataURI" not in element and "InlineBinary" not in element
    ]


@pytest.mark.parametrize("path", ["/studies", "/series", "/instances"])
@pytest.mark.parametrize("include", [None, "all"])
def test_no_qido_answer_has_an_element_without_value(
    client: httpx.Client, cases: list[Case], path: str, include: str | None
) -> None:
    params = {"includefield": include} if include else {}
    response = client.get(f"{ROOT}{path}", params=params, headers={"Accept": "application/dicom+json"})
    assert response.status_code == 200
    items = response.json()
    assert items
    for item in items:
        assert _valueless(item) == [], item


def test_series_without_modality_answers_without_modality(
    dicomweb: DICOMwebClient, cases: list[Case]
) -> None:
    for case in cases:
        ds = case.dataset
        (entry,) = dicomweb.search_for_series(
            str(ds.StudyInstanceUID), search_filters={"SeriesInstanceUID": str(ds.SeriesInstanceUID)}
        )
        if ds.get("Modality"):
            assert entry["00080060"]["Value"] == [str(ds.Modality)]
        else:
            assert "00080060" not in entry
        assert entry["00201209"]["Value"] == [1]


def test_metadata_keeps_the_files_own_empty_elements(dicomweb: DICOMwebClient, cases: list[Case]) -> None:
    """Metadata is the file's header: an absent Modality stays absent, an empty one stays F.2.5-empty."""
    for case in cases:
        ds = case.dataset
        metadata = dicomweb.retrieve_instance_metadata(
            str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)
        )
        assert metadata["00020010"] == {"vr": "UI", "Value": [str(ds.file_meta.TransferSyntaxUID)]}
        if "Modality" not in ds:
            assert "00080060" not in metadata
        elif ds.Modality == "":
            assert metadata["00080060"] == {"vr": "CS"}
        else:
            assert metadata["00080060"] == {"vr": "CS", "Value": [str(ds.Modality)]}
        assert metadata["00100020"]["Value"] == [str(ds.PatientID)]
