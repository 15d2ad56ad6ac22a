"""The archive as a DICOM network node (DIMSE: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET), with pynetdicom."""

from ria.dimse.access import Peer, peer_principal, visible_scope
from ria.dimse.config import NodeConfig
from ria.dimse.node import DicomNode

__all__ = ["DicomNode", "NodeConfig", "Peer", "peer_principal", "visible_scope"]
