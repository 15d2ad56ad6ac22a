"""C-MOVE and C-GET SCP: what to send, over which presentation contexts, read from the blob store.

The instances are those :func:`~ria.dimse.identifiers.retrieve_query` names, within
the peer's :func:`~ria.dimse.access.visible_scope`. pynetdicom sends each yielded
data set as a C-STORE sub-operation (on a new association to the move destination
for C-MOVE, on the same association for C-GET) and counts completed, failed and
warning sub-operations in its responses.

Each data set is read from the stored Part 10 bytes and encoded by pydicom in the
negotiated transfer syntax: when that is the stored one (Ria proposes it first), the
bytes sent are the stored data set's bytes, except retired group-length elements,
which pydicom drops (PS3.5 7.2), and UN elements pydicom reads with their dictionary VR.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pydicom
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.presentation import PresentationContext, build_context

from ria.access.principal import Principal
from ria.catalog.dimse_queries import QRMatch, iter_matches
from ria.catalog.search import SeriesFilter
from ria.dicom.streams import PlainStream
from ria.dimse.identifiers import VERIFICATION, retrieve_query

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from ria.archive import Archive

__all__ = ["CANCELLED", "PENDING", "UNREADABLE", "datasets", "move_contexts", "retrieve_plan"]

log = logging.getLogger(__name__)

PENDING = 0xFF00
CANCELLED = 0xFE00
_MAX_CONTEXTS = 128


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
    """Presentation contexts for a C-MOVE sub-association: each stored (SOP class, transfer syntax) first,
    then implicit VR little endian for uncompressed data (every storage SCP accepts it), at most 128."""
    exact: dict[tuple[str, str], None] = {}
    fallback: dict[str, None] = {}
    for match in instances:
        sop_class = str(match.sop_class_uid)
        syntax = match.transfer_syntax_uid or str(ExplicitVRLittleEndian)
        exact[(sop_class, syntax)] = None
        if syntax != ImplicitVRLittleEndian and not UID(syntax).is_compressed:
            fallback[sop_class] = None
    if not exact:  # an association needs one context even when nothing is sent
        return [build_context(VERIFICATION)]
    contexts = [build_context(sop_class, [syntax]) for sop_class, syntax in exact]
    contexts += [build_context(sop_class, [ImplicitVRLittleEndian]) for sop_class in fallback]
    if len(exact) > _MAX_CONTEXTS:
        log.warning(
            "C-MOVE needs %d presentation contexts; only the first %d are proposed", len(exact), _MAX_CONTEXTS
        )
    return contexts[:_MAX_CONTEXTS]


def _read(archive: Archive, key: str) -> Dataset | None:
    try:
        with archive.store.open(key) as stream:
            return pydicom.dcmread(PlainStream(stream))
    except Exception as exc:  # a missing or damaged blob fails this sub-operation only
        log.error("cannot read a stored instance for sending: %s", type(exc).__name__)
        return None


def datasets(
    archive: Archive, instances: Sequence[QRMatch], is_cancelled: Callable[[], bool], sent: Callable[[], None]
) -> Iterator[tuple[int, Any]]:
    """``(status, data set)`` pairs for pynetdicom's retrieve handlers; stops at a C-CANCEL."""
    for match in instances:
        if is_cancelled():
            yield CANCELLED, None
            return
        dataset = _read(archive, str(match.blob_key))
        sent()
        yield PENDING, (dataset if dataset is not None else UNREADABLE)
