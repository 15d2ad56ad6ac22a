"""What a DICOM peer may see: the single place C-FIND, C-MOVE and C-GET ask.

Every query and retrieve goes through :func:`visible_scope` and applies the
:class:`~ria.catalog.search.SeriesFilter` it returns (via
:func:`ria.catalog.dimse_queries.iter_matches`), so an access-control layer has
one function to change. DICOM peers are not authenticated (an AE title is a
label anyone can send), so a peer is an anonymous caller: it sees public
collections only, under the same visibility rule as every other interface
(:func:`peer_principal`). Held (quarantined) instances are never visible, as they
are outside the catalogue tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ria.access.principal import ANONYMOUS, Principal
from ria.catalog.search import ALL_SERIES, SeriesFilter

if TYPE_CHECKING:
    from ria.archive import Archive

__all__ = ["Peer", "peer_principal", "visible_scope"]


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is asking: the association's AE titles and the peer's address."""

    calling_ae_title: str
    called_ae_title: str
    address: str
    port: int


def visible_scope(archive: Archive, peer: Peer) -> SeriesFilter:
    """The series filter a peer's queries start from (all series; visibility is :func:`peer_principal`'s)."""
    del archive, peer
    return ALL_SERIES


def peer_principal(archive: Archive, peer: Peer) -> Principal:
    """Who a DICOM peer counts as: anonymous, since nothing in DIMSE proves who it is."""
    del archive, peer
    return ANONYMOUS
