"""C-MOVE and C-GET SCP: what to send, over which presentation contexts, read from the blob store.

The instances are those :func:`~ria.dimse.identifiers.retrieve_query` names, within
the peer's :func:`~ria.dimse.access.visible_scope`. pynetdicom sends each yielded
data set as a C-STORE sub-operation (on a new association to the move destination
for C-MOVE, on the same association for C-GET) and counts completed, failed and
warning sub-operations in its responses.

Each data set is read from the stored Part 10 bytes and sent in a transfer syntax the
peer accepted for its SOP class (:func:`ria.dicom.transcode.send_syntaxes`): the stored
one when accepted — the bytes sent are then the stored data set's bytes, except retired
group-length elements, which pydicom drops (PS3.5 7.2), and UN elements pydicom reads with
their dictionary VR — else an uncompressed one (decoded by pydicom's pixel handlers), else
a lossless one Ria can encode. A sub-operation fails only when no accepted syntax can carry
the instance; the log says why, and the peer's Failed SOP Instance UID List names it.

C-GET negotiation follows the peer's order of transfer syntaxes (:func:`storage_order`);
C-MOVE proposes each stored (SOP class, transfer syntax) and, beside it, an uncompressed
context for every SOP class (:func:`move_contexts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import evt
from pynetdicom.presentation import PresentationContext, build_context

from ria.access.principal import Principal
from ria.catalog.dimse_queries import QRMatch, iter_matches
from ria.catalog.search import SeriesFilter
from ria.dicom.streams import PlainStream
from ria.dicom.transcode import TranscodeError, peer_order, send_syntaxes, transcode
from ria.dimse.identifiers import VERIFICATION, retrieve_query
from ria.dimse.sockets import set_nodelay

if TYPE_CHECKING:
    from pynetdicom.association import Association
    from pynetdicom.events import Event

    from ria.archive import Archive

__all__ = [
    "CANCELLED",
    "PENDING",
    "UNREADABLE",
    "Accepted",
    "SubAssociation",
    "datasets",
    "move_contexts",
    "retrieve_plan",
    "storage_order",
]

log = logging.getLogger(__name__)

PENDING = 0xFF00
CANCELLED = 0xFE00
_MAX_CONTEXTS = 128
_WHAT_RIA_SENDS = ": Ria sends the stored syntax, an uncompressed one, or a lossless one it can encode"


class _Unreadable:
    """Yielded in place of a data set whose bytes cannot be read: pynetdicom counts it as failed."""

    def __bool__(self) -> bool:
        return True


UNREADABLE = _Unreadable()


def retrieve_plan(
    archive: Archive, scope: SeriesFilter, principal: Principal, identifier: Dataset, model: str
) -> list[QRMatch]:
    """The instances a C-MOVE/C-GET identifier asks for (raises InvalidIdentifier)."""
    return list(iter_matches(archive.engine, retrieve_query(identifier, model), scope, principal))


def move_contexts(instances: Sequence[QRMatch]) -> list[PresentationContext]:
    """Presentation contexts for a C-MOVE sub-association: each stored (SOP class, transfer syntax), then
    one uncompressed context per SOP class (explicit, then implicit VR little endian) for destinations
    that take no compressed data or not the stored syntax; at most 128."""
    exact: dict[tuple[str, str], None] = {}
    classes: dict[str, None] = {}
    for match in instances:
        sop_class = str(match.sop_class_uid)
        exact[(sop_class, match.transfer_syntax_uid or str(ExplicitVRLittleEndian))] = None
        classes[sop_class] = None
    if not exact:  # an association needs one context even when nothing is sent
        return [build_context(VERIFICATION)]
    contexts = [build_context(sop_class, [syntax]) for sop_class, syntax in exact]
    contexts += [
        build_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]) for sop_class in classes
    ]
    if len(contexts) > _MAX_CONTEXTS:
        log.warning(
            "C-MOVE needs %d presentation contexts; only the first %d are proposed",
            len(contexts),
            _MAX_CONTEXTS,
        )
    return contexts[:_MAX_CONTEXTS]


def storage_order(assoc: Association) -> None:
    """Reorder, for this association only, the transfer syntaxes of the storage contexts the peer
    proposed, so negotiation picks the peer's preferred syntax that Ria can send (C-GET)."""
    request = assoc.requestor.primitive
    if request is None:
        return
    proposed: dict[str, list[str]] = {}
    for context in request.presentation_context_definition_list:
        proposed.setdefault(str(context.abstract_syntax), []).extend(map(str, context.transfer_syntax))
    for context in assoc.acceptor.supported_contexts:
        wanted = proposed.get(str(context.abstract_syntax))
        if wanted and context.scp_role:  # storage contexts, where the peer may be the SCP
            context.transfer_syntax = list(peer_order(wanted, map(str, context.transfer_syntax)))


Accepted = Callable[[str], list[str]]
"""SOP class UID → the transfer syntaxes accepted for sending it on the current association."""


def accepted_on(assoc: Association) -> Accepted:
    """What ``assoc`` (ours, as the storage SCU) accepted for each SOP class."""

    def accepted(sop_class: str) -> list[str]:
        return [
            str(context.transfer_syntax[0])
            for context in assoc.accepted_contexts
            if str(context.abstract_syntax) == sop_class and context.as_scu
        ]

    return accepted


class SubAssociation:
    """The C-MOVE sub-association pynetdicom opens to the destination, caught when it is accepted.

    pynetdicom opens it itself after the handler names the destination; passing
    :attr:`handlers` with the destination lets :meth:`accepted` see what it accepted.
    """

    def __init__(self) -> None:
        self._assoc: Association | None = None

    @property
    def handlers(self) -> list[Any]:
        return [(evt.EVT_CONN_OPEN, set_nodelay), (evt.EVT_ACCEPTED, self._on_accepted)]

    def _on_accepted(self, event: Event) -> None:
        self._assoc = event.assoc

    def accepted(self, sop_class: str) -> list[str]:
        return accepted_on(self._assoc)(sop_class) if self._assoc is not None else []


def _read(archive: Archive, key: str) -> Dataset | None:
    try:
        with archive.store.open(key) as stream:
            return pydicom.dcmread(PlainStream(stream))
    except Exception as exc:  # a missing or damaged blob fails this sub-operation only
        log.error("cannot read a stored instance for sending: %s", type(exc).__name__)
        return None


def _failed(match: QRMatch) -> Dataset:
    """A data set pynetdicom cannot send (no File Meta): a failed sub-operation, its UID in the list."""
    failed = Dataset()
    failed.SOPClassUID = str(match.sop_class_uid)
    failed.SOPInstanceUID = str(match.sop_instance_uid)
    return failed


def _encoded(dataset: Dataset, match: QRMatch, accepted: Accepted) -> Dataset | None:
    """``dataset`` in the best syntax the peer accepted for its SOP class, or ``None`` (logged why)."""
    stored = match.transfer_syntax_uid or str(ExplicitVRLittleEndian)
    accepted_syntaxes = accepted(str(match.sop_class_uid))
    reasons = []
    for syntax in send_syntaxes(stored, accepted_syntaxes):
        try:
            return transcode(dataset, syntax) if syntax != stored else dataset
        except TranscodeError as exc:
            reasons.append(str(exc))
    offered = ", ".join(UID(syntax).name for syntax in accepted_syntaxes) or "none"
    log.warning(
        "retrieve sub-operation failed: an instance stored as %s cannot be sent in what the peer accepted "
        "for its SOP class (%s)%s",
        UID(stored).name,
        offered,
        f": {'; '.join(reasons)}" if reasons else _WHAT_RIA_SENDS,
    )
    return None


def datasets(
    archive: Archive,
    instances: Sequence[QRMatch],
    is_cancelled: Callable[[], bool],
    sent: Callable[[], None],
    accepted: Accepted,
) -> Iterator[tuple[int, Any]]:
    """``(status, data set)`` pairs for pynetdicom's retrieve handlers; stops at a C-CANCEL."""
    for match in instances:
        if is_cancelled():
            yield CANCELLED, None
            return
        dataset = _read(archive, str(match.blob_key))
        sent()
        if dataset is None:
            yield PENDING, UNREADABLE
            continue
        encoded = _encoded(dataset, match, accepted)
        yield PENDING, (encoded if encoded is not None else _failed(match))
