"""Dependencies routes share: the Archive lives on ``app.state``, set once by :func:`create_app`;
the caller's :class:`~ria.access.Principal` is resolved once per request."""

from __future__ import annotations

from fastapi import Request

from ria.access import ANONYMOUS, Principal
from ria.archive import Archive

__all__ = ["get_archive", "get_principal"]


def get_archive(request: Request) -> Archive:
    archive = request.app.state.archive
    assert isinstance(archive, Archive)
    return archive


def get_principal(request: Request) -> Principal:
    """Who is calling. Without credentials: :data:`~ria.access.ANONYMOUS` (public collections only)."""
    return ANONYMOUS
