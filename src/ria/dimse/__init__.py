"""The archive as a DICOM network node (DIMSE: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET), with pynetdicom.

pynetdicom is the optional ``dimse`` extra. Importing this package without it raises
:class:`~ria.errors.ConfigurationError` naming the extra, the same way every optional
feature says what to install: the CLI prints it as one line and exits 2 (``ria
dicom-listen``, ``ria serve --dicom-port``), instead of a ``ModuleNotFoundError`` traceback.
"""

from ria.errors import ConfigurationError

try:
    import pynetdicom  # noqa: F401
except ImportError as exc:
    raise ConfigurationError("the DICOM node needs pynetdicom: pip install 'ria[dimse]'") from exc

from ria.dimse.access import Peer, peer_principal, visible_scope
from ria.dimse.config import NodeConfig
from ria.dimse.node import DicomNode

__all__ = ["DicomNode", "NodeConfig", "Peer", "peer_principal", "visible_scope"]
