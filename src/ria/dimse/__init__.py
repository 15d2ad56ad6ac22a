"""The archive as a DICOM network node (DIMSE: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET), with pynetdicom."""

from ria.dimse.access import Peer, visible_scope
from ria.dimse.config import NodeConfig
from ria.dimse.node import DicomNode

__all__ = ["DicomNode", "NodeConfig", "Peer", "visible_scope"]
