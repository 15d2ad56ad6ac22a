"""DICOM networking: a real peer (pynetdicom's SCU) against a running :class:`~ria.dimse.DicomNode`.

A peer proves nothing about who it is, so it is anonymous: C-FIND at patient, study and series level finds
the public collection's entities and nothing else, and C-GET or C-MOVE of a restricted, limited or
embargoed study retrieves nothing, while the same request for a public study retrieves all of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import AE, StoragePresentationContexts, build_role, evt

from ria.dimse import DicomNode, NodeConfig
from tests.access.leaks.world import ALL, P, World
from tests.dimse.conftest import free_port

# The SOP classes by UID (pynetdicom generates its named constants at run time, invisible to mypy).
CTImageStorage = UID("1.2.840.10008.5.1.4.1.1.2")
MRImageStorage = UID("1.2.840.10008.5.1.4.1.1.4")
PatientRootQueryRetrieveInformationModelFind = UID("1.2.840.10008.5.1.4.1.2.1.1")
StudyRootQueryRetrieveInformationModelFind = UID("1.2.840.10008.5.1.4.1.2.2.1")
StudyRootQueryRetrieveInformationModelMove = UID("1.2.840.10008.5.1.4.1.2.2.2")
StudyRootQueryRetrieveInformationModelGet = UID("1.2.840.10008.5.1.4.1.2.2.3")


class Received:
    """SOPInstanceUIDs a peer received by C-STORE (C-GET's sub-operations, or C-MOVE's destination)."""

    def __init__(self) -> None:
        self.sops: list[str] = []
        self.lock = threading.Lock()

    def handle(self, event: Any) -> int:
        with self.lock:
            self.sops.append(str(event.dataset.SOPInstanceUID))
        return 0x0000


@pytest.fixture
def node(world: World) -> Iterator[tuple[DicomNode, int, Received]]:
    """The world's archive as a DICOM node that knows one C-MOVE destination, DEST, running here."""
    received = Received()
    destination = AE(ae_title="DEST")
    destination.supported_contexts = StoragePresentationContexts
    port = free_port()
    server = destination.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, received.handle)]
    )
    config = NodeConfig(ae_title="RIA", port=0, collection=P, known_aes={"DEST": ("127.0.0.1", port)})
    running = DicomNode(world.archive, config)
    running.start()
    try:
        yield running, running.port, received
    finally:
        running.stop()
        if server is not None:
            server.shutdown()


def _find(port: int, model: Any, level: str, **keys: str) -> list[Dataset]:
    ae = AE(ae_title="PEER")
    ae.add_requested_context(model)
    query = Dataset()
    query.QueryRetrieveLevel = level
    for keyword in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID"):
        setattr(query, keyword, keys.get(keyword, ""))
    assoc = ae.associate("127.0.0.1", port, ae_title="RIA")
    assert assoc.is_established
    try:
        return [
            identifier
            for status, identifier in assoc.send_c_find(query, model)
            if identifier is not None and status and status.Status in (0xFF00, 0xFF01)
        ]
    finally:
        assoc.release()


def test_c_find_answers_with_public_entities_only(
    world: World, node: tuple[DicomNode, int, Received]
) -> None:
    _, port, _ = node
    public = world.holdings[P]
    patients = _find(port, PatientRootQueryRetrieveInformationModelFind, "PATIENT")
    assert sorted(str(ds.PatientID) for ds in patients) == sorted(public.patients)
    studies = _find(port, StudyRootQueryRetrieveInformationModelFind, "STUDY")
    assert sorted(str(ds.StudyInstanceUID) for ds in studies) == sorted(public.studies)
    series: list[str] = []
    for study in sorted(public.studies):
        found = _find(port, StudyRootQueryRetrieveInformationModelFind, "SERIES", StudyInstanceUID=study)
        series.extend(str(ds.SeriesInstanceUID) for ds in found)
    assert sorted(series) == sorted(public.series)
    for name in ALL:
        if name == P:
            continue
        held = world.holdings[name]
        for patient in sorted(held.patients):
            assert (
                _find(port, PatientRootQueryRetrieveInformationModelFind, "PATIENT", PatientID=patient) == []
            )
        for study in sorted(held.studies):
            assert (
                _find(port, StudyRootQueryRetrieveInformationModelFind, "STUDY", StudyInstanceUID=study) == []
            )
            assert (
                _find(port, StudyRootQueryRetrieveInformationModelFind, "SERIES", StudyInstanceUID=study)
                == []
            )


def _get_study(port: int, study: str) -> list[str]:
    received = Received()
    ae = AE(ae_title="PEER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for storage in (CTImageStorage, MRImageStorage):
        ae.add_requested_context(storage)
    roles: list[Any] = [build_role(storage, scp_role=True) for storage in (CTImageStorage, MRImageStorage)]
    assoc = ae.associate(
        "127.0.0.1", port, ae_title="RIA", ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, received.handle)]
    )
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study
    try:
        list(assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet))
    finally:
        assoc.release()
    return received.sops


def _move_study(port: int, study: str) -> None:
    ae = AE(ae_title="PEER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate("127.0.0.1", port, ae_title="RIA")
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study
    try:
        list(assoc.send_c_move(query, "DEST", StudyRootQueryRetrieveInformationModelMove))
    finally:
        assoc.release()


def test_c_get_and_c_move_retrieve_public_studies_only(
    world: World, node: tuple[DicomNode, int, Received]
) -> None:
    _, port, moved = node
    for name in ALL:
        held = world.holdings[name]
        studies = sorted(held.studies) if name == P else [world.targets[name].study_uid]
        for study in studies:
            expected = sorted(i.sop_uid for i in held.instances if i.study_uid == study) if name == P else []
            assert sorted(_get_study(port, study)) == expected, f"C-GET of a {name} study"
            moved.sops.clear()
            _move_study(port, study)
            assert sorted(moved.sops) == expected, f"C-MOVE of a {name} study"
